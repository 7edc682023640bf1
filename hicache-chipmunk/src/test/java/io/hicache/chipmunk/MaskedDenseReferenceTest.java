package io.hicache.chipmunk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.sampling.SeededNoise;
import io.hicache.core.testing.TensorAssert;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The gather path against an independent float64 composition of the masked-dense formulation of
 * docs/chipmunk.md §3–§4 (full score matrices with the dropped keys masked out; the MLP output
 * recomputed from the activation cache at every step), over several steps with batch 2, two heads,
 * short last blocks and the hash-chosen extra neurons.
 */
class MaskedDenseReferenceTest {
    private final NDManager manager = NDManager.newBaseManager();

    @AfterEach
    void close() {
        manager.close();
    }

    private NDArray noise(long seed, long... shape) {
        return SeededNoise.gaussian(seed, new Shape(shape), manager);
    }

    private static double[] values(NDArray x) {
        return TensorAssert.values(x);
    }

    // ------------------------------------------------------------------------------ attention

    @Test
    void attentionMatchesTheMaskedDenseReference() {
        int b = 2;
        int h = 2;
        int s = 23;
        int d = 4;
        int bm = 7;
        double top = 0.3;
        int kept = Selection.keptKeys(top, s);
        ChipmunkState state = new ChipmunkState(WorkedExamplesTest.config(Map.of("attn.first_n_dense_layers", "0",
                "attn.bm", String.valueOf(bm), "attn.top_keys", String.valueOf(top))), manager);
        SiteKey site = SiteKey.of(3, "img_attn");
        boolean[][][][] mask = null; // [b][h][row][key]: the key set of the row's block
        double[][][][] oCache = null;
        for (int n = 0; n < 4; n++) {
            NDArray q = noise(100 + n, b, h, s, d);
            NDArray k = noise(200 + n, b, h, s, d);
            NDArray v = noise(300 + n, b, h, s, d);
            state.beginForward(n);
            NDArray actual = state.attentionKernel().attend(site, q, k, v, null, new FlopCounter());
            double[] qv = values(q);
            double[] kv = values(k);
            double[] vv = values(v);
            double[][][][] expected = new double[b][h][s][];
            if (n == 1) {
                mask = new boolean[b][h][s][];
            }
            if (n >= 1 && oCache == null) {
                oCache = new double[b][h][s][];
            }
            for (int i = 0; i < b; i++) {
                for (int j = 0; j < h; j++) {
                    double[][] p = new double[s][];
                    for (int r = 0; r < s; r++) {
                        p[r] = softmaxRow(qv, kv, i, j, r, h, s, d, null);
                    }
                    if (n == 1) { // select: column sums per query block, top k_a, ties to the lower index
                        for (int g = 0; g * bm < s; g++) {
                            double[] col = new double[s];
                            for (int r = g * bm; r < Math.min(s, (g + 1) * bm); r++) {
                                for (int c = 0; c < s; c++) {
                                    col[c] += p[r][c];
                                }
                            }
                            boolean[] keep = topMask(col, kept);
                            for (int r = g * bm; r < Math.min(s, (g + 1) * bm); r++) {
                                mask[i][j][r] = keep;
                            }
                        }
                    }
                    for (int r = 0; r < s; r++) {
                        double[] dense = times(p[r], vv, i, j, h, s, d);
                        if (n == 0) {
                            expected[i][j][r] = dense;
                        } else if (n == 1) {
                            double[] sparse = times(softmaxRow(qv, kv, i, j, r, h, s, d, mask[i][j][r]), vv, i, j, h, s, d);
                            oCache[i][j][r] = minus(dense, sparse);
                            expected[i][j][r] = dense;
                        } else {
                            double[] sparse = times(softmaxRow(qv, kv, i, j, r, h, s, d, mask[i][j][r]), vv, i, j, h, s, d);
                            expected[i][j][r] = plus(oCache[i][j][r], sparse);
                        }
                    }
                }
            }
            // the kernel returns [B, S, H·Dh]
            double[] got = values(actual);
            double scale = 0;
            double err = 0;
            for (int i = 0; i < b; i++) {
                for (int j = 0; j < h; j++) {
                    for (int r = 0; r < s; r++) {
                        for (int c = 0; c < d; c++) {
                            double e = expected[i][j][r][c];
                            scale = Math.max(scale, Math.abs(e));
                            err = Math.max(err, Math.abs(e - got[((i * s + r) * h + j) * d + c]));
                        }
                    }
                }
            }
            assertTrue(err / scale < 1e-5, "step " + n + ": relative error " + err / scale);
        }
        assertEquals("[0/cond/3/attn:D, 1/cond/3/attn:D+keys, 2/cond/3/attn:S, 3/cond/3/attn:S]",
                state.events().toString());
        state.close();
    }

    /** softmax over the keys of row r of (b, h), scale 1/√d; keys outside {@code keep} are masked out. */
    private static double[] softmaxRow(double[] q, double[] k, int b, int h, int r, int heads, int s, int d,
            boolean[] keep) {
        double[] logits = new double[s];
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < s; c++) {
            if (keep != null && !keep[c]) {
                logits[c] = Double.NEGATIVE_INFINITY;
                continue;
            }
            double dot = 0;
            for (int e = 0; e < d; e++) {
                dot += q[(((b * heads + h) * s) + r) * d + e] * k[(((b * heads + h) * s) + c) * d + e];
            }
            logits[c] = dot / Math.sqrt(d);
            max = Math.max(max, logits[c]);
        }
        double sum = 0;
        for (int c = 0; c < s; c++) {
            logits[c] = Math.exp(logits[c] - max);
            sum += logits[c];
        }
        for (int c = 0; c < s; c++) {
            logits[c] /= sum;
        }
        return logits;
    }

    private static double[] times(double[] p, double[] v, int b, int h, int heads, int s, int d) {
        double[] o = new double[d];
        for (int c = 0; c < s; c++) {
            for (int e = 0; e < d; e++) {
                o[e] += p[c] * v[(((b * heads + h) * s) + c) * d + e];
            }
        }
        return o;
    }

    private static boolean[] topMask(double[] score, int k) {
        Integer[] order = new Integer[score.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Double.compare(score[y], score[x]));
        boolean[] keep = new boolean[score.length];
        for (int i = 0; i < k; i++) {
            keep[order[i]] = true;
        }
        return keep;
    }

    private static double[] minus(double[] a, double[] b) {
        double[] o = a.clone();
        for (int i = 0; i < o.length; i++) {
            o[i] -= b[i];
        }
        return o;
    }

    private static double[] plus(double[] a, double[] b) {
        return minus(a, Arrays.stream(b).map(x -> -x).toArray());
    }

    // ------------------------------------------------------------------------------ MLP

    @Test
    void mlpMatchesTheMaskedDenseReference() {
        int b = 2;
        int t = 11;
        int din = 6;
        int f = 20;
        int dout = 5;
        int bm = 4;
        int layer = 7;
        ChipmunkState state = new ChipmunkState(WorkedExamplesTest.config(Map.of("mlp.bm", String.valueOf(bm),
                "mlp.top_keys", "0.3", "mlp.random_keys", "0.2")), manager);
        int top = Selection.topNeurons(0.3, f);
        int extra = Selection.extraNeurons(0.2, f, top);
        SiteKey site = SiteKey.of(layer, "total");
        NDArray w1 = noise(1, f, din);
        NDArray b1 = noise(2, f);
        NDArray w2 = noise(3, dout, f);
        double[] w1v = values(w1);
        double[] b1v = values(b1);
        double[] w2v = values(w2);
        int nb = (t + bm - 1) / bm;
        double[][][] act = new double[b][t][f];
        double[][][] means = new double[b][nb][f];
        for (int n = 0; n < 4; n++) {
            NDArray x = noise(50 + n, b, t, din);
            state.beginForward(n);
            NDArray actual = state.mlpKernel().apply(site, x, w1, b1, w2, null, new FlopCounter());
            double[] xv = values(x);
            for (int i = 0; i < b; i++) {
                double[][] mid = new double[t][f];
                for (int r = 0; r < t; r++) {
                    for (int j = 0; j < f; j++) {
                        double z = b1v[j];
                        for (int e = 0; e < din; e++) {
                            z += xv[(i * t + r) * din + e] * w1v[j * din + e];
                        }
                        mid[r][j] = z;
                    }
                }
                for (int blk = 0; blk < nb; blk++) {
                    int from = blk * bm;
                    int to = Math.min(t, from + bm);
                    if (n == 0) { // dense: every activation, the block means of mid
                        for (int j = 0; j < f; j++) {
                            double sum = 0;
                            for (int r = from; r < to; r++) {
                                act[i][r][j] = gelu(mid[r][j]);
                                sum += mid[r][j];
                            }
                            means[i][blk][j] = sum / (to - from);
                        }
                        continue;
                    }
                    // sparse with refresh (n < 10): the block means of mid are those of x mapped
                    double[] fresh = new double[f];
                    float[] score = new float[f];
                    for (int j = 0; j < f; j++) {
                        double sum = 0;
                        for (int r = from; r < to; r++) {
                            sum += mid[r][j];
                        }
                        fresh[j] = sum / (to - from);
                        score[j] = (float) Math.abs(fresh[j] - means[i][blk][j]);
                    }
                    int[] set = Selection.neuronSet(score, 0, f, top, extra, n, layer, blk);
                    assertEquals(top + extra, set.length);
                    for (int j : set) {
                        means[i][blk][j] = fresh[j];
                        for (int r = from; r < to; r++) {
                            act[i][r][j] = gelu(mid[r][j]);
                        }
                    }
                }
            }
            // the output from the activation cache, from scratch
            double[] got = values(actual);
            double scale = 0;
            double err = 0;
            for (int i = 0; i < b; i++) {
                for (int r = 0; r < t; r++) {
                    for (int o = 0; o < dout; o++) {
                        double e = 0;
                        for (int j = 0; j < f; j++) {
                            e += act[i][r][j] * w2v[o * f + j];
                        }
                        scale = Math.max(scale, Math.abs(e));
                        err = Math.max(err, Math.abs(e - got[(i * t + r) * dout + o]));
                    }
                }
            }
            assertTrue(err / scale < 1e-5, "step " + n + ": relative error " + err / scale);
        }
        state.close();
    }

    private static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }
}
