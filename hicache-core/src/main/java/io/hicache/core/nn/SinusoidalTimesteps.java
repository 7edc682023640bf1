package io.hicache.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * The sinusoidal timestep features of DiT transformers (diffusers {@code Timesteps(channels,
 * flip_sin_to_cos=True, downscale_freq_shift=0)}, BFL {@code timestep_embedding}): for a value s and
 * half = channels/2, {@code [cos(s·f_0) … cos(s·f_{half−1}), sin(s·f_0) … sin(s·f_{half−1})]} with
 * {@code f_k = exp(−ln(10000)·k/half)} — cosine half first.
 *
 * <p>Computed in float64 on the host and returned as float32; callers cast to their compute dtype.
 * The references compute in fp32 (FLUX after rounding the timestep to bf16), so results agree to
 * fp32 precision, not bit for bit.
 */
public final class SinusoidalTimesteps {
    private static final double MAX_PERIOD = 10000;

    private SinusoidalTimesteps() {}

    /** Features of each value (already scaled, e.g. 1000·σ) as float32 [values.length, channels]. */
    public static NDArray embed(double[] values, int channels, NDManager manager) {
        if (channels <= 0 || channels % 2 != 0) {
            throw new IllegalArgumentException("timestep channels must be positive and even, got " + channels);
        }
        int half = channels / 2;
        float[] out = new float[values.length * channels];
        for (int b = 0; b < values.length; b++) {
            for (int k = 0; k < half; k++) {
                double arg = values[b] * Math.exp(-Math.log(MAX_PERIOD) * k / half);
                out[b * channels + k] = (float) Math.cos(arg);
                out[b * channels + half + k] = (float) Math.sin(arg);
            }
        }
        return manager.create(out, new Shape(values.length, channels));
    }
}
