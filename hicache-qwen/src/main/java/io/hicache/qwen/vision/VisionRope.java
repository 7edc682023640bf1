package io.hicache.qwen.vision;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * The vision tower's 2-D rotary embedding (transformers' {@code rot_pos_emb} with
 * {@code Qwen2_5_VisionRotaryEmbedding(head_dim / 2)}), as pure functions. With head width D,
 * there are D/4 frequencies {@code inv_k = θ^(−2k/(D/2))}, θ = 10000; a patch at (row, col) of its
 * frame gets the D/2 angles {@code [row·inv_0 … row·inv_{D/4−1}, col·inv_0 … col·inv_{D/4−1}]},
 * and the rotation uses {@code cos/sin} of those angles repeated over both halves of the head, in
 * the rotate-half convention ({@code x·cos + [−x₂, x₁]·sin}).
 *
 * <p>As upstream, the frequencies and the products are float32 (positions are small integers,
 * exact in float32), and cos/sin are taken of the float32 angle.
 */
final class VisionRope {
    static final double THETA = 10000.0;

    private VisionRope() {}

    /** The D/4 float32 inverse frequencies {@code 1 / θ^(2k / (D/2))} of a head of width {@code headDim}. */
    static float[] inverseFrequencies(int headDim) {
        if (headDim <= 0 || headDim % 4 != 0) {
            throw new IllegalArgumentException("vision head width must be a positive multiple of 4, got " + headDim);
        }
        int dim = headDim / 2;
        float[] inv = new float[dim / 2];
        for (int k = 0; k < inv.length; k++) {
            float exponent = (float) (2 * k) / dim;
            inv[k] = 1.0f / (float) Math.pow(THETA, exponent);
        }
        return inv;
    }

    /**
     * The (row, col) of every input patch in its frame, in the processor's patch order: frames,
     * then merge units row-major, then the merge × merge patches of a unit row-major.
     *
     * @return [patches][2]
     */
    static int[][] patchPositions(int gridT, int gridH, int gridW, int merge) {
        VisionWindows.checkGrid(gridT, gridH, gridW, merge);
        int perFrame = gridH * gridW;
        int unitCols = gridW / merge;
        int unitPatches = merge * merge;
        int[][] pos = new int[gridT * perFrame][];
        for (int p = 0; p < pos.length; p++) {
            int q = p % perFrame;
            int unit = q / unitPatches;
            int inner = q % unitPatches;
            int row = (unit / unitCols) * merge + inner / merge;
            int col = (unit % unitCols) * merge + inner % merge;
            pos[p] = new int[] {row, col};
        }
        return pos;
    }

    /**
     * The D/2 float32 angles of each listed patch: {@code result[j]} belongs to patch
     * {@code order[j]} of {@code positions}.
     */
    static float[][] angles(int[][] positions, int[] order, int headDim) {
        float[] inv = inverseFrequencies(headDim);
        int quarter = inv.length;
        float[][] a = new float[order.length][2 * quarter];
        for (int j = 0; j < order.length; j++) {
            int[] rc = positions[order[j]];
            for (int k = 0; k < quarter; k++) {
                a[j][k] = (float) rc[0] * inv[k];
                a[j][quarter + k] = (float) rc[1] * inv[k];
            }
        }
        return a;
    }

    /** {cos, sin} float32 [L, 1, D] of the angles [L][D/2], each repeated over both halves of the head. */
    static NDArray[] tables(float[][] angles, NDManager manager) {
        int half = angles.length == 0 ? 0 : angles[0].length;
        int d = 2 * half;
        float[] cos = new float[angles.length * d];
        float[] sin = new float[angles.length * d];
        for (int j = 0; j < angles.length; j++) {
            for (int k = 0; k < half; k++) {
                float c = (float) Math.cos(angles[j][k]);
                float s = (float) Math.sin(angles[j][k]);
                cos[j * d + k] = c;
                cos[j * d + half + k] = c;
                sin[j * d + k] = s;
                sin[j * d + half + k] = s;
            }
        }
        Shape shape = new Shape(angles.length, 1, d);
        return new NDArray[] {manager.create(cos, shape), manager.create(sin, shape)};
    }
}
