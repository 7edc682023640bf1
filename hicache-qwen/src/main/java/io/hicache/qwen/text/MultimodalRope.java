package io.hicache.qwen.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Qwen2.5-VL's multimodal RoPE tables in the rotate-half convention. Every token has a position on
 * three axes (temporal, height, width); frequency k = 0 … D/2−1, {@code inv_freq_k = θ^(−2k/D)},
 * takes its position from the axis whose {@code mrope_section} range holds k, and the D/2 angles
 * are repeated across both halves of the head ({@code cos = [cos(pθ), cos(pθ)]}). For text-only
 * input the three axes are equal and this is ordinary 1-D RoPE.
 *
 * <p>Angles follow transformers' float32 arithmetic (float32 inverse frequencies times float32
 * positions, cosine of the float32 angle), so long prompts rotate as in the reference.
 */
public final class MultimodalRope {
    private MultimodalRope() {}

    /** Positions [3][T] for text-only tokens: 0 … length−1 on every axis. */
    public static long[][] textPositions(int length) {
        long[][] p = new long[3][length];
        for (int a = 0; a < 3; a++) {
            for (int t = 0; t < length; t++) {
                p[a][t] = t;
            }
        }
        return p;
    }

    /** {cos, sin} [T, headDim] float32 on {@code manager} for positions [3][T]. */
    public static NDArray[] tables(long[][] positions, int[] section, double theta, int headDim, NDManager manager) {
        int half = headDim / 2;
        int[] axisOf = new int[half];
        int k = 0;
        for (int a = 0; a < section.length; a++) {
            for (int i = 0; i < section[a]; i++) {
                axisOf[k++] = a;
            }
        }
        if (k != half || positions.length != section.length) {
            throw new IllegalArgumentException("mrope_section must cover head_dim/2 = " + half + " frequencies over "
                    + positions.length + " axes");
        }
        int length = positions[0].length;
        float[] cos = new float[length * headDim];
        float[] sin = new float[length * headDim];
        for (int j = 0; j < half; j++) {
            float inv = (float) (1.0 / (float) Math.pow(theta, (float) (2 * j) / headDim));
            for (int t = 0; t < length; t++) {
                float angle = inv * (float) positions[axisOf[j]][t];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[t * headDim + j] = c;
                cos[t * headDim + j + half] = c;
                sin[t * headDim + j] = s;
                sin[t * headDim + j + half] = s;
            }
        }
        Shape shape = new Shape(length, headDim);
        return new NDArray[] {manager.create(cos, shape), manager.create(sin, shape)};
    }
}
