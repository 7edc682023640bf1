package io.hicache.qwen.vision;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.WeightSource;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * An independent float64 composition of transformers' Qwen2.5-VL vision tower in plain Java
 * arrays. It never permutes tokens: patches stay in the processor's order, every patch knows its
 * (frame, row, column), and window attention is full attention with a mask that hides keys outside
 * the query's window (frame, row / window, column / window). Attention is written out with loops;
 * the rotary angles are taken in double precision from their definition.
 */
final class Float64VisionTower {
    /** What the reference computes; the variants exist to show that the comparison can fail. */
    enum Variant {
        /** The model. */
        EXACT,
        /** Every block attends over the whole frame (the window mask dropped). */
        NO_WINDOWS,
        /** The rotary angles take the column where the row belongs and vice versa. */
        SWAPPED_AXES
    }

    private final QwenVisionConfig c;
    private final Map<String, double[]> w = new HashMap<>();

    /** Reads every tensor of the tower from {@code source}, stored under {@code prefix}, as doubles. */
    Float64VisionTower(WeightSource source, String prefix, QwenVisionConfig c, NDManager m) throws IOException {
        this.c = c;
        for (String name : source.names()) {
            if (name.startsWith(prefix)) {
                try (NDArray x = source.get(name, TensorType.F64, m)) {
                    w.put(name.substring(prefix.length()), x.toDoubleArray());
                }
            }
        }
    }

    /** Patches [N][C·T·p·p] of a grid (t, h, w) → [N / merge²][out_hidden]. */
    double[][] encode(double[][] px, int gridT, int gridH, int gridW, Variant variant) {
        int s = c.spatialMergeSize();
        int n = px.length;
        int hidden = c.hiddenSize();
        // the processor's patch order: frame, merge row, merge column, row and column inside the unit
        int[] frame = new int[n];
        int[] row = new int[n];
        int[] col = new int[n];
        int i0 = 0;
        for (int f = 0; f < gridT; f++) {
            for (int ur = 0; ur < gridH / s; ur++) {
                for (int uc = 0; uc < gridW / s; uc++) {
                    for (int ir = 0; ir < s; ir++) {
                        for (int ic = 0; ic < s; ic++) {
                            frame[i0] = f;
                            row[i0] = ur * s + ir;
                            col[i0] = uc * s + ic;
                            i0++;
                        }
                    }
                }
            }
        }
        // Conv3d with kernel = stride over one (C, T, p, p) patch: a dot product with each filter
        int k = c.patchDim();
        double[] filters = w.get("patch_embed.proj.weight");
        double[][] x = new double[n][hidden];
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < hidden; o++) {
                double sum = 0;
                for (int e = 0; e < k; e++) {
                    sum += filters[o * k + e] * px[i][e];
                }
                x[i][o] = sum;
            }
        }
        // rotary angles: first quarter of the head row·θ^(−2j/(D/2)), second quarter col·θ^(−2j/(D/2))
        int d = c.headDim();
        double[][] angle = new double[n][d / 2];
        for (int i = 0; i < n; i++) {
            int r = variant == Variant.SWAPPED_AXES ? col[i] : row[i];
            int q = variant == Variant.SWAPPED_AXES ? row[i] : col[i];
            for (int j = 0; j < d / 4; j++) {
                double inv = Math.pow(10000.0, -2.0 * j / (d / 2));
                angle[i][j] = r * inv;
                angle[i][d / 4 + j] = q * inv;
            }
        }
        int windowPatches = c.windowSize() / c.patchSize();
        for (int b = 0; b < c.depth(); b++) {
            String p = "blocks." + b + ".";
            boolean full = c.isFullAttention(b) || variant == Variant.NO_WINDOWS;
            boolean[][] visible = new boolean[n][n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    visible[i][j] = frame[i] == frame[j] && (full || (row[i] / windowPatches == row[j] / windowPatches
                            && col[i] / windowPatches == col[j] / windowPatches));
                }
            }
            double[][] h = rmsNorm(x, w.get(p + "norm1.weight"));
            double[][] attn = linear(attention(linear(h, p + "attn.qkv"), angle, visible), p + "attn.proj");
            add(x, attn);
            h = rmsNorm(x, w.get(p + "norm2.weight"));
            double[][] gate = linear(h, p + "mlp.gate_proj");
            double[][] up = linear(h, p + "mlp.up_proj");
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < gate[i].length; j++) {
                    double g = gate[i][j];
                    gate[i][j] = g / (1 + Math.exp(-g)) * up[i][j];
                }
            }
            add(x, linear(gate, p + "mlp.down_proj"));
        }
        // merger: ln_q per patch, the merge² consecutive patches of a unit concatenated
        double[][] normed = rmsNorm(x, w.get("merger.ln_q.weight"));
        int unit = s * s;
        double[][] merged = new double[n / unit][unit * hidden];
        for (int u = 0; u < n / unit; u++) {
            for (int i = 0; i < unit; i++) {
                System.arraycopy(normed[u * unit + i], 0, merged[u], i * hidden, hidden);
            }
        }
        double[][] y = linear(merged, "merger.mlp.0");
        for (double[] r : y) {
            for (int j = 0; j < r.length; j++) {
                r[j] = 0.5 * r[j] * (1 + erf(r[j] / Math.sqrt(2)));
            }
        }
        return linear(y, "merger.mlp.2");
    }

    /**
     * Multi-head attention of qkv [N][3·hidden] (q, k, v side by side, heads side by side in each):
     * rotate-half RoPE on q and k, softmax(q·k/√D) over the visible keys.
     */
    private double[][] attention(double[][] qkv, double[][] angle, boolean[][] visible) {
        int n = qkv.length;
        int hidden = c.hiddenSize();
        int d = c.headDim();
        double[][] out = new double[n][hidden];
        for (int head = 0; head < c.numHeads(); head++) {
            double[][] q = new double[n][];
            double[][] k = new double[n][];
            for (int i = 0; i < n; i++) {
                q[i] = rotateHalf(qkv[i], head * d, angle[i]);
                k[i] = rotateHalf(qkv[i], hidden + head * d, angle[i]);
            }
            for (int i = 0; i < n; i++) {
                double[] score = new double[n];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    if (visible[i][j]) {
                        double dot = 0;
                        for (int e = 0; e < d; e++) {
                            dot += q[i][e] * k[j][e];
                        }
                        score[j] = dot / Math.sqrt(d);
                        max = Math.max(max, score[j]);
                    }
                }
                double total = 0;
                for (int j = 0; j < n; j++) {
                    score[j] = visible[i][j] ? Math.exp(score[j] - max) : 0;
                    total += score[j];
                }
                for (int j = 0; j < n; j++) {
                    for (int e = 0; e < d; e++) {
                        out[i][head * d + e] += score[j] / total * qkv[j][2 * hidden + head * d + e];
                    }
                }
            }
        }
        return out;
    }

    /** x[from … from+D) rotated: x·cos + [−x₂, x₁]·sin with the D/2 angles repeated over both halves. */
    private double[] rotateHalf(double[] x, int from, double[] angle) {
        int d = c.headDim();
        int half = d / 2;
        double[] y = new double[d];
        for (int e = 0; e < d; e++) {
            double a = angle[e % half];
            double rotated = e < half ? -x[from + e + half] : x[from + e - half];
            y[e] = x[from + e] * Math.cos(a) + rotated * Math.sin(a);
        }
        return y;
    }

    private static double[][] rmsNorm(double[][] x, double[] weight) {
        double[][] y = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            double sq = 0;
            for (double v : x[i]) {
                sq += v * v;
            }
            double scale = 1 / Math.sqrt(sq / x[i].length + 1e-6);
            y[i] = new double[x[i].length];
            for (int j = 0; j < x[i].length; j++) {
                y[i][j] = x[i][j] * scale * weight[j];
            }
        }
        return y;
    }

    /** x·Wᵀ + b with W stored [out][in]. */
    private double[][] linear(double[][] x, String prefix) {
        double[] weight = w.get(prefix + ".weight");
        double[] bias = w.get(prefix + ".bias");
        int in = x[0].length;
        int out = weight.length / in;
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double sum = bias[o];
                for (int e = 0; e < in; e++) {
                    sum += weight[o * in + e] * x[i][e];
                }
                y[i][o] = sum;
            }
        }
        return y;
    }

    private static void add(double[][] x, double[][] y) {
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[i].length; j++) {
                x[i][j] += y[i][j];
            }
        }
    }

    /**
     * The error function in double precision: the Maclaurin series
     * {@code erf x = 2/√π Σ (−1)ⁿ x^(2n+1) / (n!(2n+1))} below 2 (its terms stay below 3, so no
     * cancellation), Laplace's continued fraction
     * {@code erfc x = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))} from 2 on.
     */
    static double erf(double x) {
        if (x < 0) {
            return -erf(-x);
        }
        if (x < 2) {
            double term = x;
            double sum = x;
            for (int k = 1; k < 200; k++) {
                term *= -x * x / k;
                double next = term / (2 * k + 1);
                sum += next;
                if (Math.abs(next) < 1e-18 * Math.abs(sum)) {
                    break;
                }
            }
            return 2 / Math.sqrt(Math.PI) * sum;
        }
        double f = x;
        for (int k = 400; k >= 1; k--) {
            f = x + (k / 2.0) / f;
        }
        return 1 - Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }
}
