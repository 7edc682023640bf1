package io.hicache.core.cache;

import java.util.ArrayList;
import java.util.List;

/**
 * Which steps run the transformer in full. A pure function of (mode, interval N, first_enhance fe):
 * step n is full iff {@code n < fe} or {@code (n − (fe − 1)) mod N == 0}; in {@code original} mode
 * every step is full. There is no guard for the last steps (as upstream): with N = 7 and 50 steps,
 * steps 45–49 are forecast.
 */
public final class StepSchedule {
    private final CacheMode mode;
    private final int interval;
    private final int firstEnhance;

    public StepSchedule(CacheMode mode, int interval, int firstEnhance) {
        if (interval < 1 || firstEnhance < 1) {
            throw new IllegalArgumentException("interval and first_enhance must be >= 1");
        }
        this.mode = mode;
        this.interval = interval;
        this.firstEnhance = firstEnhance;
    }

    public boolean isFull(int step) {
        if (step < 0) {
            throw new IllegalArgumentException("negative step " + step);
        }
        return mode == CacheMode.ORIGINAL || step < firstEnhance || (step - (firstEnhance - 1)) % interval == 0;
    }

    /** The full steps among {@code 0..numSteps-1}. */
    public List<Integer> fullSteps(int numSteps) {
        List<Integer> out = new ArrayList<>();
        for (int s = 0; s < numSteps; s++) {
            if (isFull(s)) {
                out.add(s);
            }
        }
        return out;
    }

    /** Transformer passes saved: numSteps / #full steps. */
    public double speedup(int numSteps) {
        return (double) numSteps / fullSteps(numSteps).size();
    }

    /** "F" for full and "f" for forecast steps, e.g. {@code FFFffffFffff}. */
    public String pattern(int numSteps) {
        StringBuilder sb = new StringBuilder(numSteps);
        for (int s = 0; s < numSteps; s++) {
            sb.append(isFull(s) ? 'F' : 'f');
        }
        return sb.toString();
    }
}
