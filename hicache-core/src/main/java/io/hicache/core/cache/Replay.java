package io.hicache.core.cache;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicache.core.metrics.RelativeError;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;

/**
 * Offline calibration: runs the cache over a recorded feature trajectory F_0..F_{T−1} of one site
 * and reports what a generation would have used at each step — the true feature at full steps,
 * the forecast elsewhere — and its relative L2 error ‖F̂ − F‖/‖F‖. No model is needed, so a sweep
 * over modes, intervals, orders and σ takes seconds.
 */
public final class Replay {
    /** The site a trajectory stands for (HiCache-Analytic keys its statistic by this layer). */
    public static final SiteKey SITE = SiteKey.of(0, "features");

    private Replay() {}

    /** Supplies the feature of step t in any float dtype; the replay closes it. */
    @FunctionalInterface
    public interface Trajectory {
        NDArray step(int t, NDManager manager);
    }

    /** The outcome of one replay. */
    public record Result(
            CacheConfig config,
            int steps,
            List<Integer> fullSteps,
            double[] stepErrors,
            double meanForecastError,
            double speedup,
            long peakBytesHeld,
            double seconds) {
    }

    /**
     * Replays {@code steps} steps in {@code computeType}; {@code predictions}, when not null,
     * receives each step's prediction in the compute type (valid during the call only).
     */
    public static Result run(CacheConfig config, int steps, Trajectory trajectory, TensorType computeType,
            NDManager manager, Consumer<NDArray> predictions) {
        if (steps < 2) {
            throw new IllegalArgumentException("a trajectory needs at least 2 steps, got " + steps);
        }
        long start = System.nanoTime();
        double[] errors = new double[steps];
        double forecastErrorSum = 0;
        int forecastSteps = 0;
        CacheStats stats;
        try (CacheSession session = CacheSession.open(config, steps, manager)) {
            for (int t = 0; t < steps; t++) {
                try (NDManager scratch = manager.newSubManager()) {
                    NDArray truth = Precision.cast(trajectory.step(t, scratch), computeType);
                    session.beginStep(t);
                    NDArray used = session.resolve(SITE, session.needsCompute(SITE) ? truth : null, scratch);
                    if (!session.isFullStep()) {
                        errors[t] = RelativeError.l2(used, truth);
                        forecastErrorSum += errors[t];
                        forecastSteps++;
                    }
                    if (predictions != null) {
                        predictions.accept(used);
                    }
                }
            }
            stats = session.stats();
        }
        List<Integer> full = config.schedule().fullSteps(steps);
        return new Result(config, steps, full, errors, forecastSteps == 0 ? 0 : forecastErrorSum / forecastSteps,
                (double) steps / full.size(), stats.peakBytesHeld(), (System.nanoTime() - start) / 1e9);
    }

    /** Replays every configuration (errors only) and returns the results, lowest mean error first. */
    public static List<Result> sweep(List<CacheConfig> configs, int steps, Trajectory trajectory,
            TensorType computeType, NDManager manager) {
        List<Result> out = new ArrayList<>();
        for (CacheConfig c : configs) {
            out.add(run(c, steps, trajectory, computeType, manager, null));
        }
        out.sort(Comparator.comparingDouble(Result::meanForecastError).thenComparing(r -> -r.speedup()));
        return out;
    }
}
