package io.hicache.qwen.vision;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The token orders of the vision tower's window attention, as pure functions of the patch grid.
 *
 * <p>The input patches come grouped by merge unit: merge unit u = (frame, merge row, merge column)
 * in row-major order holds patches u·merge² … (u+1)·merge² − 1. The windowed blocks attend only
 * within windows of {@code windowUnits × windowUnits} merge units (smaller at the bottom and right
 * edges); transformers' {@code get_window_index} permutes the merge units so that each window is
 * contiguous — windows row-major within a frame, units row-major within a window — and returns the
 * cumulative window lengths in patches ({@code cu_window_seqlens}). The full-attention blocks attend
 * within each frame ({@code cu_seqlens}).
 */
final class VisionWindows {
    private VisionWindows() {}

    /**
     * A permutation of merge units and the attention segments it makes contiguous.
     *
     * @param unitOrder position j of the permuted sequence holds merge unit {@code unitOrder[j]}
     * @param cuSeqlens segment boundaries in patches: 0, end of segment 0, …, total patches
     */
    record Partition(int[] unitOrder, int[] cuSeqlens) {}

    /**
     * A stretch of the (permuted) sequence made of {@code count} adjacent attention segments of
     * {@code length} patches each, starting at patch {@code start}: attention over it is one
     * batched call on its [count, length] reshape.
     */
    record Run(int start, int count, int length) {}

    /**
     * transformers' {@code get_window_index} for one grid of {@code gridT × gridH × gridW} patches:
     * for each frame, each window row, each window column, the window's merge units row by row.
     * The boundaries count only non-empty windows (upstream pads the unit grid by a whole window
     * when it is divisible and then drops the repeated boundaries with {@code unique_consecutive}).
     */
    static Partition windows(int gridT, int gridH, int gridW, int merge, int windowUnits) {
        checkGrid(gridT, gridH, gridW, merge);
        if (windowUnits < 1) {
            throw new IllegalArgumentException("window side must be at least one merge unit, got " + windowUnits);
        }
        int unitRows = gridH / merge;
        int unitCols = gridW / merge;
        int unitPatches = merge * merge;
        int[] order = new int[gridT * unitRows * unitCols];
        List<Integer> cu = new ArrayList<>();
        cu.add(0);
        int next = 0;
        for (int f = 0; f < gridT; f++) {
            for (int wr = 0; wr < unitRows; wr += windowUnits) {
                for (int wc = 0; wc < unitCols; wc += windowUnits) {
                    for (int r = wr; r < Math.min(wr + windowUnits, unitRows); r++) {
                        for (int c = wc; c < Math.min(wc + windowUnits, unitCols); c++) {
                            order[next++] = (f * unitRows + r) * unitCols + c;
                        }
                    }
                    cu.add(next * unitPatches);
                }
            }
        }
        return new Partition(order, cu.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The full-attention segments ({@code cu_seqlens}): one per frame of gridH × gridW patches. */
    static int[] frames(int gridT, int gridH, int gridW) {
        int[] cu = new int[gridT + 1];
        for (int f = 1; f <= gridT; f++) {
            cu[f] = f * gridH * gridW;
        }
        return cu;
    }

    /**
     * {@code p} with its segments reordered, stably, by decreasing length within each frame, so that
     * the equal windows of a frame are adjacent and the windowed attention runs as a few batched
     * calls (for the real model's 37 × 37 merge units: full windows, edge windows, the corner) rather
     * than one call per run of windows. Attention within a segment does not depend on where the
     * segment sits, and frames keep their order (the full-attention blocks need each frame
     * contiguous); the tower undoes whichever order it used at the end.
     *
     * @param unitsPerFrame merge units per frame, to tell which frame a segment belongs to
     */
    static Partition groupedBySize(Partition p, int unitPatches, int unitsPerFrame) {
        int[] cu = p.cuSeqlens();
        int segments = cu.length - 1;
        Integer[] byFrameThenSize = new Integer[segments];
        for (int s = 0; s < segments; s++) {
            byFrameThenSize[s] = s;
        }
        Comparator<Integer> frame = Comparator.comparingInt(s -> p.unitOrder()[cu[s] / unitPatches] / unitsPerFrame);
        Arrays.sort(byFrameThenSize, frame.thenComparing(Comparator.comparingInt((Integer s) -> cu[s + 1] - cu[s])
                .reversed()));
        int[] order = new int[p.unitOrder().length];
        int[] newCu = new int[cu.length];
        int next = 0;
        for (int i = 0; i < segments; i++) {
            int s = byFrameThenSize[i];
            for (int patch = cu[s]; patch < cu[s + 1]; patch += unitPatches) {
                order[next++] = p.unitOrder()[patch / unitPatches];
            }
            newCu[i + 1] = next * unitPatches;
        }
        return new Partition(order, newCu);
    }

    /** Maximal runs of adjacent segments of equal length. */
    static List<Run> runs(int[] cuSeqlens) {
        List<Run> runs = new ArrayList<>();
        int s = 0;
        while (s < cuSeqlens.length - 1) {
            int length = cuSeqlens[s + 1] - cuSeqlens[s];
            int e = s + 1;
            while (e < cuSeqlens.length - 1 && cuSeqlens[e + 1] - cuSeqlens[e] == length) {
                e++;
            }
            runs.add(new Run(cuSeqlens[s], e - s, length));
            s = e;
        }
        return runs;
    }

    /** The patch permutation of a unit permutation: position j holds input patch {@code result[j]}. */
    static int[] patchOrder(int[] unitOrder, int unitPatches) {
        int[] patches = new int[unitOrder.length * unitPatches];
        for (int j = 0; j < unitOrder.length; j++) {
            for (int i = 0; i < unitPatches; i++) {
                patches[j * unitPatches + i] = unitOrder[j] * unitPatches + i;
            }
        }
        return patches;
    }

    /** The inverse permutation (upstream's {@code argsort(window_index)}): {@code result[order[j]] = j}. */
    static int[] inverse(int[] order) {
        int[] inv = new int[order.length];
        Arrays.fill(inv, -1);
        for (int j = 0; j < order.length; j++) {
            if (order[j] < 0 || order[j] >= order.length || inv[order[j]] >= 0) {
                throw new IllegalArgumentException("not a permutation: " + Arrays.toString(order));
            }
            inv[order[j]] = j;
        }
        return inv;
    }

    static void checkGrid(int gridT, int gridH, int gridW, int merge) {
        if (gridT < 1 || gridH < 1 || gridW < 1) {
            throw new IllegalArgumentException("grid (t, h, w) must be positive, got (" + gridT + ", " + gridH + ", "
                    + gridW + ")");
        }
        if (gridH % merge != 0 || gridW % merge != 0) {
            throw new IllegalArgumentException("grid height and width (" + gridH + " × " + gridW
                    + " patches) must be multiples of spatial_merge_size " + merge);
        }
        if ((long) gridT * gridH * gridW > Integer.MAX_VALUE / 4) {
            throw new IllegalArgumentException("grid (" + gridT + ", " + gridH + ", " + gridW + ") is too large");
        }
    }
}
