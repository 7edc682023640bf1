package io.hicache.qwen.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Qwen2.5-VL's multimodal RoPE tables in the rotate-half convention. Every token has a position on
 * three axes (temporal, height, width); frequency k = 0 … D/2−1, {@code inv_freq_k = θ^(−2k/D)},
 * takes its position from the axis whose {@code mrope_section} range holds k, and the D/2 angles
 * are repeated across both halves of the head ({@code cos = [cos(pθ), cos(pθ)]}). For text-only
 * input the three axes are equal and this is ordinary 1-D RoPE; an image's tokens get their
 * (frame, row, column) on the three axes ({@link #imagePositions}).
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

    /** Qwen2.5-VL's {@code spatial_merge_size}: one vision token stands for 2×2 patches. */
    public static final int SPATIAL_MERGE_SIZE = 2;

    /**
     * Vision tokens of an image of {@code image_grid_thw = (gridT, gridH, gridW)} patches merged
     * {@code mergeSize}×{@code mergeSize}: the copies Qwen2-VL's processor makes of
     * {@code <|image_pad|>}.
     */
    public static int imageTokens(int gridT, int gridH, int gridW, int mergeSize) {
        if (gridT < 1 || gridH < 1 || gridW < 1 || mergeSize < 1) {
            throw new IllegalArgumentException("image grid (" + gridT + ", " + gridH + ", " + gridW + ") and merge size "
                    + mergeSize + " must be positive");
        }
        if (gridH % mergeSize != 0 || gridW % mergeSize != 0) {
            throw new IllegalArgumentException("image grid " + gridH + "×" + gridW + " patches does not split into "
                    + mergeSize + "×" + mergeSize + " merge units");
        }
        long n = (long) gridT * (gridH / mergeSize) * (gridW / mergeSize);
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("image grid (" + gridT + ", " + gridH + ", " + gridW + ") is too large");
        }
        return (int) n;
    }

    /**
     * Positions [3][T] of a sequence holding one image, as transformers' {@code get_rope_index}
     * gives them: the {@code s} tokens before the image get {@code t = h = w = index}; the image's
     * tokens, a run of {@link #imageTokens} copies of {@code imageTokenId} in (frame, row, column)
     * order over the merged grid, get {@code (s + 0, s + row, s + column)}; the tokens after it
     * continue on every axis from the largest image position plus one. The temporal index of an
     * image is 0 for every frame: {@code get_rope_index} scales the frame index by
     * {@code second_per_grid_t}, which is 0 for images (only videos advance in time).
     */
    public static long[][] imagePositions(long[] ids, long imageTokenId, int gridT, int gridH, int gridW,
            int mergeSize) {
        int n = imageTokens(gridT, gridH, gridW, mergeSize);
        int rows = gridH / mergeSize;
        int cols = gridW / mergeSize;
        int start = -1;
        int count = 0;
        for (int j = 0; j < ids.length; j++) {
            if (ids[j] == imageTokenId) {
                if (start < 0) {
                    start = j;
                } else if (ids[j - 1] != imageTokenId) {
                    throw new IllegalArgumentException("the image tokens (id " + imageTokenId
                            + ") must form one run; another starts at " + j);
                }
                count++;
            }
        }
        if (count != n) {
            throw new IllegalArgumentException("the sequence holds " + count + " image tokens (id " + imageTokenId
                    + "), but the image grid (" + gridT + ", " + gridH + ", " + gridW + ") merged " + mergeSize + "×"
                    + mergeSize + " has " + n);
        }
        long[][] p = new long[3][ids.length];
        for (int j = 0; j < start; j++) {
            p[0][j] = j;
            p[1][j] = j;
            p[2][j] = j;
        }
        int j = start;
        for (int f = 0; f < gridT; f++) {
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    p[0][j] = start;
                    p[1][j] = start + r;
                    p[2][j] = start + c;
                    j++;
                }
            }
        }
        long next = start + Math.max(rows, cols);
        for (int k = start + n; k < ids.length; k++) {
            p[0][k] = next;
            p[1][k] = next;
            p[2][k] = next;
            next++;
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
