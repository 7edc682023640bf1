package io.hicache.core.nn;

import static io.hicache.core.testing.TensorAssert.maxRelDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.TensorAssert;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Convolutions against a float64 convolution of the same (rounded) inputs, for every channel count. */
class LayersTest {
    NDManager m;

    @BeforeEach
    void setUp() {
        HiCacheRuntime.bootstrap();
        m = NDManager.newBaseManager();
        m.getEngine().setRandomSeed(7);
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    /** The float64 convolution of the values {@code dtype} holds. */
    NDArray reference(NDArray x, NDArray w, NDArray b, int padding, TensorType dtype) {
        return reference(x, w, b, padding, 1, dtype);
    }

    NDArray reference(NDArray x, NDArray w, NDArray b, int padding, int stride, TensorType dtype) {
        NDArray x64 = rounded(x, dtype);
        NDArray w64 = rounded(w, dtype);
        NDArray b64 = b == null ? null : rounded(b, dtype);
        return Conv2d.conv2d(x64, w64, b64, new Shape(stride, stride), new Shape(padding, padding), new Shape(1, 1), 1)
                .singletonOrThrow();
    }

    static NDArray rounded(NDArray x, TensorType dtype) {
        return Precision.toFloat32(Precision.cast(x, dtype)).toType(DataType.FLOAT64, true);
    }

    /**
     * oneDNN's bf16 3×3 convolution on AVX512-BF16 CPUs returned garbage for output channel counts
     * that are not a multiple of 16 (relative error 0.4 to 1.5, different each run); every count
     * from 1 to 36 must now match, and two runs must agree bit for bit.
     */
    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "BF16"})
    void everyOutputChannelCountMatchesTheFloat64Convolution(TensorType dtype) {
        double tol = dtype == TensorType.BF16 ? 1.0 / 64 : 1e-5;
        List<String> failures = new ArrayList<>();
        for (int in : new int[] {3, 16}) {
            for (int out = 1; out <= 36; out++) {
                for (int k : new int[] {1, 3}) {
                    for (boolean bias : new boolean[] {false, true}) {
                        int padding = k / 2;
                        NDArray x = m.randomNormal(new Shape(2, in, 9, 11));
                        NDArray w = m.randomNormal(new Shape(out, in, k, k)).mul(0.2);
                        NDArray b = bias ? m.randomNormal(new Shape(out)) : null;
                        NDArray xd = Precision.cast(x, dtype);
                        NDArray wd = Precision.cast(w, dtype);
                        NDArray bd = b == null ? null : Precision.cast(b, dtype);
                        NDArray y = Layers.conv2d(xd, wd, bd, padding);
                        NDArray again = Layers.conv2d(xd, wd, bd, padding);
                        double rel = maxRelDiff(reference(x, w, b, padding, dtype), y);
                        String what = "in " + in + " out " + out + " k " + k + " bias " + bias;
                        if (!(rel < tol)) {
                            failures.add(what + ": " + rel);
                        }
                        TensorAssert.assertBitEqual(y, again, what + " twice");
                        assertTrue(Precision.typeOf(y) == dtype, what + " keeps " + dtype);
                    }
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " shapes off: " + failures);
    }

    /**
     * Stride 2 (the VAE encoder's downsampling) goes through the same bf16 channel padding: output
     * counts around the block size, 1×1 and 3×3 kernels, with and without padding, odd and even sides.
     */
    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "BF16"})
    void stridedConvolutionsMatchTheFloat64Convolution(TensorType dtype) {
        double tol = dtype == TensorType.BF16 ? 1.0 / 64 : 1e-5;
        List<String> failures = new ArrayList<>();
        for (int out : new int[] {3, 16, 24, 32}) {
            for (int k : new int[] {1, 3}) {
                for (int padding = 0; padding <= k / 2; padding++) {
                    for (int side : new int[] {8, 9}) {
                        NDArray x = m.randomNormal(new Shape(2, 8, side, side + 2));
                        NDArray w = m.randomNormal(new Shape(out, 8, k, k)).mul(0.2);
                        NDArray b = m.randomNormal(new Shape(out));
                        NDArray y = Layers.conv2d(Precision.cast(x, dtype), Precision.cast(w, dtype),
                                Precision.cast(b, dtype), padding, 2);
                        NDArray expected = reference(x, w, b, padding, 2, dtype);
                        String what = "out " + out + " k " + k + " padding " + padding + " side " + side;
                        assertEquals(expected.getShape(), y.getShape(), what);
                        double rel = maxRelDiff(expected, y);
                        if (!(rel < tol)) {
                            failures.add(what + ": " + rel);
                        }
                        assertTrue(Precision.typeOf(y) == dtype, what + " keeps " + dtype);
                    }
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " shapes off: " + failures);
    }
}
