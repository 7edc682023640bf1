package io.hicache.flux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class FluxPositionsTest {
    @Test
    void imageTokensAreRowColumnAndTextTokensZero() {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] img = FluxPositions.imageIds(4, 6, m).toFloatArray();
            assertEquals(6 * 3, img.length);
            assertArrayEquals(new float[] {0, 0, 2}, new float[] {img[6], img[7], img[8]}, "token 2 = (0, r 0, c 2)");
            assertArrayEquals(new float[] {0, 1, 1}, new float[] {img[12], img[13], img[14]}, "token 4 = (0, r 1, c 1)");
            NDArray txt = FluxPositions.textIds(5, m);
            assertArrayEquals(new long[] {5, 3}, txt.getShape().getShape());
            assertEquals(0f, txt.abs().sum().getFloat());
        }
    }
}
