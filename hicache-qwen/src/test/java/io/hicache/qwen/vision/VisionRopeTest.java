package io.hicache.qwen.vision;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.HiCacheRuntime;
import org.junit.jupiter.api.Test;

/** The 2-D rotary geometry of the vision tower, worked by hand. */
class VisionRopeTest {
    /** float32 frequencies and products: a few ulps of the exact value. */
    static final float ULPS = 4e-7f;

    @Test
    void inverseFrequenciesOfTheTinyAndTheRealHead() {
        // head 16: Qwen2_5_VisionRotaryEmbedding(8) → inv_k = 10000^(−2k/8) = 10^(−k), k = 0…3
        float[] tiny = VisionRope.inverseFrequencies(16);
        float[] expected = {1f, 0.1f, 0.01f, 0.001f};
        assertEquals(4, tiny.length);
        for (int k = 0; k < 4; k++) {
            assertEquals(expected[k], tiny[k], expected[k] * ULPS);
        }
        // head 80: dim 40 → 20 frequencies 10000^(−2k/40) = 10^(−k/5):
        // k = 1: 10^(−0.2) = 0.6309573; k = 19: 10^(−3.8) = 1.5848932e−4
        float[] real = VisionRope.inverseFrequencies(80);
        assertEquals(20, real.length);
        assertEquals(1f, real[0]);
        assertEquals(0.6309573f, real[1], 0.6309573f * ULPS);
        assertEquals(1.5848932e-4f, real[19], 1.5848932e-4f * ULPS);
        assertThrows(IllegalArgumentException.class, () -> VisionRope.inverseFrequencies(6));
    }

    /*
     * 4 × 4 patches, merge 2: the processor lists merge unit (0,0) = patches (0,0) (0,1) (1,0)
     * (1,1), then unit (0,1) = (0,2) (0,3) (1,2) (1,3), then unit (1,0) = (2,0) (2,1) (3,0) (3,1),
     * then unit (1,1) = (2,2) (2,3) (3,2) (3,3).
     */
    @Test
    void patchPositionsFollowTheMergeUnitOrder() {
        int[][] expected = {{0, 0}, {0, 1}, {1, 0}, {1, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 0}, {2, 1}, {3, 0},
            {3, 1}, {2, 2}, {2, 3}, {3, 2}, {3, 3}};
        assertArrayEquals(expected, VisionRope.patchPositions(1, 4, 4, 2));
    }

    /* 2 × 6 patches (one row of three units) in two frames: positions restart with each frame. */
    @Test
    void patchPositionsOfANonSquareGridInTwoFrames() {
        int[][] p = VisionRope.patchPositions(2, 2, 6, 2);
        assertEquals(24, p.length);
        int[][] frame = {{0, 0}, {0, 1}, {1, 0}, {1, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {0, 4}, {0, 5}, {1, 4},
            {1, 5}};
        for (int i = 0; i < 12; i++) {
            assertArrayEquals(frame[i], p[i]);
            assertArrayEquals(frame[i], p[12 + i]);
        }
    }

    @Test
    void anglesAreRowFrequenciesThenColumnFrequencies() {
        int[][] positions = VisionRope.patchPositions(1, 4, 4, 2);
        // patch 13 is at (2, 3): [2·1, 2·0.1, 2·0.01, 2·0.001, 3·1, 3·0.1, 3·0.01, 3·0.001]; patch 0 at (0, 0)
        float[][] a = VisionRope.angles(positions, new int[] {13, 0}, 16);
        float[] expected = {2f, 0.2f, 0.02f, 0.002f, 3f, 0.3f, 0.03f, 0.003f};
        for (int k = 0; k < 8; k++) {
            assertEquals(expected[k], a[0][k], expected[k] * ULPS, "angle " + k);
            assertEquals(0f, a[1][k]);
        }
    }

    @Test
    void tablesRepeatTheAnglesOverBothHalves() {
        HiCacheRuntime.bootstrap();
        try (NDManager m = NDManager.newBaseManager()) {
            // head 8: inv = [1, 10000^(−2/4) = 0.01]; a patch at (1, 2) has angles [1, 0.01, 2, 0.02]
            float[][] a = VisionRope.angles(new int[][] {{1, 2}}, new int[] {0}, 8);
            NDArray[] t = VisionRope.tables(a, m);
            assertEquals(new Shape(1, 1, 8), t[0].getShape());
            double[] angles = {1, 0.01, 2, 0.02, 1, 0.01, 2, 0.02};
            float[] cos = t[0].toFloatArray();
            float[] sin = t[1].toFloatArray();
            for (int i = 0; i < 8; i++) {
                assertEquals(Math.cos(angles[i]), cos[i], 1e-6, "cos " + i);
                assertEquals(Math.sin(angles[i]), sin[i], 1e-6, "sin " + i);
            }
        }
    }
}
