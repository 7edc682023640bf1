package io.hicache.core.metrics;

import ai.djl.ndarray.NDArray;
import io.hicache.core.runtime.Kernels;

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
        return ratio(Math.sqrt(diff), Math.sqrt(ref));
    }

    /**
     * As {@link #l2(float[], float[])} for tensors of any float type (bf16 included), computed on
     * the tensors' device in fp64 without copying them to the host.
     */
    public static double l2(NDArray a, NDArray b) {
        if (!a.getShape().equals(b.getShape())) {
            throw new IllegalArgumentException("shapes differ: " + a.getShape() + " vs " + b.getShape());
        }
        double[] norms = Kernels.of(a).diffAndReferenceNorms(a, b);
        return ratio(norms[0], norms[1]);
    }

    private static double ratio(double diffNorm, double refNorm) {
        if (diffNorm == 0) {
            return 0;
        }
        return refNorm == 0 ? Double.POSITIVE_INFINITY : diffNorm / refNorm;
    }
}
