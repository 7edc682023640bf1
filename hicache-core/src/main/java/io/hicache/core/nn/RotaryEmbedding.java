package io.hicache.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import java.util.Arrays;

/**
 * Multi-axis rotary position embedding with interleaved pairs, as the FLUX and Qwen-Image
 * transformers use it: head-dim entries (2j, 2j+1) form a complex number rotated by angle θ_j, and
 * the D/2 angles of a token are the concatenation over axes a of {@code p_a · base^(−2k/dim_a)},
 * k = 0 … dim_a/2 − 1, where p_a is the token's position on axis a.
 *
 * <p>The angle tables depend only on the positions, so they are built once per generation and shared
 * by every block and step. Angles are computed in float64 on the host (as diffusers does for FLUX)
 * and stored as float32 cosines and sines [L, D/2]; the rotation itself runs in fp32.
 */
public final class RotaryEmbedding implements AutoCloseable {
    private final NDArray cos;
    private final NDArray sin;

    private RotaryEmbedding(NDArray cos, NDArray sin) {
        this.cos = cos;
        this.sin = sin;
    }

    /**
     * Tables for the tokens whose positions are the rows of {@code ids} [L, axes] (any float or
     * integer type), with {@code axesDims[a]} head-dim entries per axis (each even; they sum to the
     * head dim). The tables live on {@code manager}.
     */
    public static RotaryEmbedding of(NDArray ids, int[] axesDims, double base, NDManager manager) {
        Shape s = ids.getShape();
        if (s.dimension() != 2 || s.get(1) != axesDims.length) {
            throw new IllegalArgumentException("position ids must be [tokens, " + axesDims.length + "], got " + s);
        }
        NDArray f64 = Precision.cast(ids, TensorType.F64);
        double[] positions;
        try {
            positions = f64.toDoubleArray();
        } finally {
            if (f64 != ids) {
                f64.close();
            }
        }
        int tokens = Math.toIntExact(s.get(0));
        float[][] tables = angleTables(positions, tokens, axesDims, base);
        Shape shape = new Shape(tokens, halfDim(axesDims));
        return new RotaryEmbedding(manager.create(tables[0], shape), manager.create(tables[1], shape));
    }

    private static int halfDim(int[] axesDims) {
        int half = 0;
        for (int d : axesDims) {
            if (d <= 0 || d % 2 != 0) {
                throw new IllegalArgumentException("every RoPE axis dim must be positive and even: "
                        + Arrays.toString(axesDims));
            }
            half += d / 2;
        }
        return half;
    }

    /** {cos, sin} of every angle, row-major [tokens, Σ dim_a / 2]. */
    private static float[][] angleTables(double[] positions, int tokens, int[] axesDims, double base) {
        int half = halfDim(axesDims);
        float[] cos = new float[tokens * half];
        float[] sin = new float[tokens * half];
        int axes = axesDims.length;
        for (int t = 0; t < tokens; t++) {
            int j = t * half;
            for (int a = 0; a < axes; a++) {
                double p = positions[t * axes + a];
                int dim = axesDims[a];
                for (int k = 0; k < dim / 2; k++) {
                    // as diffusers: 1 / base^(arange(0, dim, 2) / dim), in float64
                    double angle = p * (1.0 / Math.pow(base, (2.0 * k) / dim));
                    cos[j] = (float) Math.cos(angle);
                    sin[j] = (float) Math.sin(angle);
                    j++;
                }
            }
        }
        return new float[][] {cos, sin};
    }

    /** Number of tokens the tables cover. */
    public long length() {
        return cos.getShape().get(0);
    }

    /** Rotates q or k laid out [..., L, D]; returns a new tensor in x's dtype. */
    public NDArray apply(NDArray x) {
        Shape s = x.getShape();
        long l = s.get(s.dimension() - 2);
        if (l != length() || s.get(s.dimension() - 1) != 2 * cos.getShape().get(1)) {
            throw new IllegalArgumentException("RoPE tables are " + cos.getShape() + " (tokens, dim/2), tensor is " + s);
        }
        return Kernels.of(x).ropeInterleaved(x, cos, sin);
    }

    /** cos θ as [L, D/2] float32. */
    public NDArray cos() {
        return cos;
    }

    /** sin θ as [L, D/2] float32. */
    public NDArray sin() {
        return sin;
    }

    @Override
    public void close() {
        cos.close();
        sin.close();
    }
}
