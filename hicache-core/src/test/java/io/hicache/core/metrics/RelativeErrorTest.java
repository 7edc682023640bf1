package io.hicache.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RelativeErrorTest {
    @BeforeAll
    static void engine() {
        HiCacheRuntime.bootstrap();
    }

    @Test
    void handWorkedValues() {
        // ‖(0,0,1)‖ / ‖(1,2,2)‖ = 1/3
        assertEquals(1.0 / 3, RelativeError.l2(new float[] {1, 2, 3}, new float[] {1, 2, 2}), 1e-15);
        // ‖(3,4)‖ / ‖(6,8)‖ = 5/10
        assertEquals(0.5, RelativeError.l2(new float[] {9, 12}, new float[] {6, 8}), 1e-15);
        assertEquals(0.0, RelativeError.l2(new float[] {1.5f, -2}, new float[] {1.5f, -2}));
    }

    @Test
    void isRelativeToTheSecondArgument() {
        float[] a = {2, 0};
        float[] b = {1, 0};
        assertEquals(1.0, RelativeError.l2(a, b), 1e-15);
        assertEquals(0.5, RelativeError.l2(b, a), 1e-15);
    }

    @Test
    void zeroReference() {
        assertEquals(0.0, RelativeError.l2(new float[] {0, 0}, new float[] {0, 0}));
        assertEquals(Double.POSITIVE_INFINITY, RelativeError.l2(new float[] {0, 1e-30f}, new float[] {0, 0}));
    }

    /** Squares of f32 values near 1e20 overflow float but not the double accumulator. */
    @Test
    void accumulatesInDouble() {
        assertEquals(1.0 / 3, RelativeError.l2(new float[] {1e20f, 2e20f, 3e20f}, new float[] {1e20f, 2e20f, 2e20f}), 1e-12);
    }

    @Test
    void tensorsOfEveryFloatTypeIncludingBf16() {
        try (NDManager m = NDManager.newBaseManager()) {
            // values exactly representable in bf16 and f16, so every type gives the same answer
            NDArray a = m.create(new float[] {1, 2, 3, 0.5f, -4, 8}, new Shape(2, 3));
            NDArray b = m.create(new float[] {1, 2, 2, 0.5f, -4, 8}, new Shape(2, 3));
            double expected = 1 / Math.sqrt(1 + 4 + 4 + 0.25 + 16 + 64);
            for (TensorType t : new TensorType[] {TensorType.F32, TensorType.F16, TensorType.BF16, TensorType.F64}) {
                NDArray ta = Precision.cast(a, t);
                NDArray tb = Precision.cast(b, t);
                assertEquals(expected, RelativeError.l2(ta, tb), 1e-15, t.name());
                assertEquals(t, Precision.typeOf(ta), "inputs are left as they were");
            }
            assertThrows(IllegalArgumentException.class, () -> RelativeError.l2(a, b.reshape(3, 2)));
        }
    }
}
