package io.hicache.core.sampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;

/**
 * Initial noise that depends on the seed alone: standard normal values drawn on the host by
 * {@link Random#nextGaussian()} (an algorithm the JDK specifies exactly) in row-major order of the
 * requested shape, so the same seed gives the same latents on every device, thread count and
 * platform. (PyTorch's generators differ between CPU and CUDA; this project does not reproduce
 * them — pass explicit noise for parity with a Python run.)
 */
public final class SeededNoise {
    private SeededNoise() {}

    /** Standard normal float32 values of {@code shape}, e.g. [B, 16, H/8, W/8] for FLUX. */
    public static NDArray gaussian(long seed, Shape shape, NDManager manager) {
        long n = shape.size();
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("noise of " + n + " elements is too large for one tensor");
        }
        Random random = new Random(seed);
        float[] values = new float[(int) n];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return manager.create(values, shape);
    }
}
