package io.hicache.core.metrics;

import ai.djl.ndarray.NDArray;
import io.hicache.core.runtime.Precision;

/** Relative L2 error ‖a − b‖₂ / ‖b‖₂ of an approximation {@code a} against a reference {@code b}. */
public final class RelativeError {
    private RelativeError() {}

    /**
     * Accumulated in double. When the reference is all zeros the ratio is 0 if {@code a} is too and
     * +∞ otherwise.
     */
    public static double l2(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("lengths differ: " + a.length + " vs " + b.length);
        }
        double diff = 0;
        double ref = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            diff += d * d;
            ref += (double) b[i] * b[i];
        }
        if (diff == 0) {
            return 0;
        }
        return ref == 0 ? Double.POSITIVE_INFINITY : Math.sqrt(diff) / Math.sqrt(ref);
    }

    /** As {@link #l2(float[], float[])} for tensors of any float type (bf16 read through the kernels). */
    public static double l2(NDArray a, NDArray b) {
        if (!a.getShape().equals(b.getShape())) {
            throw new IllegalArgumentException("shapes differ: " + a.getShape() + " vs " + b.getShape());
        }
        return l2(floats(a), floats(b));
    }

    private static float[] floats(NDArray x) {
        NDArray f32 = Precision.toFloat32(x);
        try {
            return f32.toFloatArray();
        } finally {
            if (f32 != x) {
                f32.close();
            }
        }
    }
}
