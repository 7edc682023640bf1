package io.hicache.chipmunk;

import java.util.Arrays;

/**
 * The index arithmetic of Chipmunk (docs/chipmunk.md §3–§5), free of tensors: how many keys and
 * neurons are kept, exact top-k with ties to the lower index, the deterministic hash that stands
 * in for Chipmunk's random neurons, and the patchify token order.
 */
public final class Selection {
    private Selection() {}

    /** ⌊fraction·n + ½⌋ clamped to [lo, n]: half-up rounding, so 0.5 of 5 is 3. */
    static int count(double fraction, int n, int lo) {
        long k = (long) Math.floor(fraction * n + 0.5);
        return (int) Math.max(lo, Math.min(n, k));
    }

    /** k_a: keys kept per query block out of {@code keys}, at least one. */
    public static int keptKeys(double topKeys, int keys) {
        return count(topKeys, keys, 1);
    }

    /** k_m: top neurons kept per token block out of {@code neurons}. */
    public static int topNeurons(double topKeys, int neurons) {
        return count(topKeys, neurons, 0);
    }

    /** r_m: extra ("random") neurons, a share of the {@code neurons − top} others. */
    public static int extraNeurons(double randomKeys, int neurons, int top) {
        return count(randomKeys, neurons - top, 0);
    }

    /**
     * The indices of the {@code k} largest of {@code scores[from, from + n)} (relative to
     * {@code from}), ties to the lower index, in increasing index order.
     */
    static int[] topK(float[] scores, int from, int n, int k) {
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        // stable sort by descending score keeps equal scores in index order
        Arrays.sort(order, (a, b) -> Float.compare(scores[from + b], scores[from + a]));
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = order[i];
        }
        Arrays.sort(out);
        return out;
    }

    /** SplitMix64's output function of {@code z} (64-bit wrapping). */
    public static long splitmix64(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The hash ranking candidate extra neuron {@code j} of token block {@code block} at step {@code n}, layer {@code l}. */
    public static long neuronHash(int n, int l, int block, int j) {
        return splitmix64(((long) n << 52) | ((long) l << 40) | ((long) block << 20) | j);
    }

    /**
     * The neuron set of one token block: the {@code top} highest {@code scores[from, from + neurons)},
     * plus the {@code extra} other neurons with the smallest unsigned {@link #neuronHash}; sorted.
     */
    static int[] neuronSet(float[] scores, int from, int neurons, int top, int extra, int step, int layer, int block) {
        int[] best = topK(scores, from, neurons, top);
        if (extra == 0) {
            return best;
        }
        boolean[] taken = new boolean[neurons];
        for (int j : best) {
            taken[j] = true;
        }
        long[][] others = new long[neurons - top][];
        int m = 0;
        for (int j = 0; j < neurons; j++) {
            if (!taken[j]) {
                others[m++] = new long[] {neuronHash(step, layer, block, j), j};
            }
        }
        Arrays.sort(others, (a, b) -> Long.compareUnsigned(a[0], b[0]));
        int[] out = Arrays.copyOf(best, top + extra);
        for (int i = 0; i < extra; i++) {
            out[top + i] = (int) others[i][1];
        }
        Arrays.sort(out);
        return out;
    }

    /**
     * The patchify order of an h×w token grid (§5): position p holds old token order[p]; 8×8 tiles
     * (c1) in row-major tile order, c2×c2 sub-tiles inside each, row-major inside a sub-tile.
     *
     * @throws IllegalArgumentException when h or w is not a multiple of c1, or c1 not of c2
     */
    public static int[] patchifyOrder(int h, int w, int c1, int c2) {
        if (c1 < 1 || c2 < 1 || c1 % c2 != 0) {
            throw new IllegalArgumentException("patchify chunk_size_1 (" + c1 + ") must be a positive multiple of "
                    + "chunk_size_2 (" + c2 + ")");
        }
        if (h % c1 != 0 || w % c1 != 0) {
            throw new IllegalArgumentException("patchify needs a token grid in multiples of chunk_size_1 = " + c1
                    + ", got " + h + "×" + w + " tokens (" + 16 * h + "×" + 16 * w + " px): use sizes in multiples of "
                    + 16 * c1 + " px or turn patchify off");
        }
        int s = c1 / c2;
        int[] order = new int[h * w];
        int p = 0;
        for (int tr = 0; tr < h / c1; tr++) {
            for (int tc = 0; tc < w / c1; tc++) {
                for (int sr = 0; sr < s; sr++) {
                    for (int sc = 0; sc < s; sc++) {
                        for (int ir = 0; ir < c2; ir++) {
                            for (int ic = 0; ic < c2; ic++) {
                                int r = tr * c1 + sr * c2 + ir;
                                int c = tc * c1 + sc * c2 + ic;
                                order[p++] = r * w + c;
                            }
                        }
                    }
                }
            }
        }
        return order;
    }

    /** The inverse permutation: inverse[order[p]] = p. */
    public static int[] inverse(int[] order) {
        int[] inv = new int[order.length];
        for (int p = 0; p < order.length; p++) {
            inv[order[p]] = p;
        }
        return inv;
    }
}
