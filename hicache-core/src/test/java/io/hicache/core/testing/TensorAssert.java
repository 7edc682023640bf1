package io.hicache.core.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.hicache.core.runtime.Precision;

/** Element-wise comparisons of tensors, read through f64 so bf16/f16 values compare exactly. */
public final class TensorAssert {
    private TensorAssert() {}

    /** Values of any float tensor as doubles (bf16 read through the kernels). */
    public static double[] values(NDArray x) {
        try (NDArray f = Precision.toFloat32(x).toType(DataType.FLOAT64, true)) {
            return f.toDoubleArray();
        }
    }

    public static double maxAbsDiff(NDArray expected, NDArray actual) {
        assertArrayEquals(expected.getShape().getShape(), actual.getShape().getShape(), "shape");
        double[] e = values(expected);
        double[] a = values(actual);
        double m = 0;
        for (int i = 0; i < e.length; i++) {
            m = Math.max(m, Math.abs(e[i] - a[i]));
        }
        return m;
    }

    /** max |e − a| / max(max |e|, tiny): error relative to the tensor's scale. */
    public static double maxRelDiff(NDArray expected, NDArray actual) {
        double[] e = values(expected);
        double scale = 1e-30;
        for (double v : e) {
            scale = Math.max(scale, Math.abs(v));
        }
        return maxAbsDiff(expected, actual) / scale;
    }

    /** Fails when any |e − a| > atol + rtol·|e|, naming the first offending element. */
    public static void assertClose(NDArray expected, NDArray actual, double atol, double rtol, String what) {
        assertArrayEquals(expected.getShape().getShape(), actual.getShape().getShape(), what + ": shape");
        double[] e = values(expected);
        double[] a = values(actual);
        for (int i = 0; i < e.length; i++) {
            double d = Math.abs(e[i] - a[i]);
            if (!(d <= atol + rtol * Math.abs(e[i]))) {
                fail(String.format("%s: element %d expected %.9g got %.9g (|diff| %.3g > %.3g)",
                        what, i, e[i], a[i], d, atol + rtol * Math.abs(e[i])));
            }
        }
    }

    public static void assertBitEqual(NDArray expected, NDArray actual, String what) {
        assertArrayEquals(expected.getShape().getShape(), actual.getShape().getShape(), what + ": shape");
        double[] e = values(expected);
        double[] a = values(actual);
        for (int i = 0; i < e.length; i++) {
            if (Double.doubleToRawLongBits(e[i]) != Double.doubleToRawLongBits(a[i])) {
                fail(String.format("%s: element %d differs: %s vs %s", what, i, e[i], a[i]));
            }
        }
    }
}
