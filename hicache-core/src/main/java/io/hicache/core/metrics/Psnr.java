package io.hicache.core.metrics;

import io.hicache.core.image.RgbImage;

/**
 * Peak signal-to-noise ratio of two 8-bit RGB images, as the upstream evaluation computes it
 * (docs/algorithm.md §9.1): values scaled to [0, 1], MSE over every pixel and channel,
 * {@code 20·log10(1/√MSE)}.
 */
public final class Psnr {
    private Psnr() {}

    /**
     * PSNR in dB; {@link Double#POSITIVE_INFINITY} for identical images (the upstream evaluation
     * leaves those out of its mean, and so should callers).
     */
    public static double of(RgbImage a, RgbImage b) {
        return fromMse(mse(a, b));
    }

    /** Mean squared error of the [0, 1]-scaled samples. */
    public static double mse(RgbImage a, RgbImage b) {
        ImageChecks.sameSize(a, b);
        byte[] x = a.toByteArray();
        byte[] y = b.toByteArray();
        long sumSq = 0; // exact: at most 255² per sample
        for (int i = 0; i < x.length; i++) {
            int d = (x[i] & 0xFF) - (y[i] & 0xFF);
            sumSq += d * d;
        }
        return sumSq / (255.0 * 255.0 * x.length);
    }

    /** {@code 20·log10(1/√mse)} = {@code −10·log10(mse)}. */
    public static double fromMse(double mse) {
        return mse == 0 ? Double.POSITIVE_INFINITY : -10 * Math.log10(mse);
    }
}
