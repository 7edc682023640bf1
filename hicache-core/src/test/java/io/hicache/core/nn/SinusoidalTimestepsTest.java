package io.hicache.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class SinusoidalTimestepsTest {
    @Test
    void cosineHalfComesFirst() {
        try (NDManager m = NDManager.newBaseManager()) {
            // σ = 0.5 → s = 500; f_64 = 10000^(−64/128) = 1/100, so entry 64 is cos(5), entry 192 sin(5)
            NDArray e = SinusoidalTimesteps.embed(new double[] {500, 0}, 256, m);
            assertArrayEquals(new long[] {2, 256}, e.getShape().getShape());
            float[] v = e.toFloatArray();
            assertEquals(-0.883849273431478, v[0], 1e-6, "cos(500·f_0), f_0 = 1");
            assertEquals(-0.46777180532247614, v[128], 1e-6, "sin(500·f_0)");
            assertEquals(0.28366218546322625, v[64], 1e-7, "cos(5)");
            assertEquals(-0.9589242746631385, v[192], 1e-7, "sin(5)");
            // f_127 = 10000^(−127/128): 500·f_127 = 0.0537303914
            assertEquals(0.9985568697569277, v[127], 1e-7);
            assertEquals(0.053704542277597286, v[255], 1e-7);
            // s = 0: all cosines 1, all sines 0
            for (int k = 0; k < 128; k++) {
                assertEquals(1f, v[256 + k]);
                assertEquals(0f, v[256 + 128 + k]);
            }
        }
    }

    @Test
    void rejectsOddChannelCounts() {
        try (NDManager m = NDManager.newBaseManager()) {
            assertThrows(IllegalArgumentException.class, () -> SinusoidalTimesteps.embed(new double[] {1}, 255, m));
        }
    }
}
