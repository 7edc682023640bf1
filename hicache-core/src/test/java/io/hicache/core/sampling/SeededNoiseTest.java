package io.hicache.core.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SeededNoiseTest {
    @Test
    void isTheJdkGaussianStreamInRowMajorOrder() {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] a = SeededNoise.gaussian(42, new Shape(1, 16, 4, 6), m).toFloatArray();
            Random r = new Random(42);
            for (int i = 0; i < a.length; i++) {
                assertEquals((float) r.nextGaussian(), a[i], "element " + i);
            }
            assertArrayEquals(a, SeededNoise.gaussian(42, new Shape(1, 16, 4, 6), m).toFloatArray(), "same seed");
            assertFalse(Arrays.equals(a, SeededNoise.gaussian(43, new Shape(1, 16, 4, 6), m).toFloatArray()));
        }
    }

    @Test
    void isStandardNormal() {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] x = SeededNoise.gaussian(0, new Shape(1, 16, 64, 64), m).toFloatArray();
            double mean = 0;
            double sq = 0;
            for (float v : x) {
                mean += v;
                sq += v * v;
            }
            mean /= x.length;
            double std = Math.sqrt(sq / x.length - mean * mean);
            // 65536 samples: the standard error of the mean is 0.004
            assertEquals(0, mean, 0.02);
            assertEquals(1, std, 0.02);
        }
    }
}
