package io.hicache.qwen.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.Precision;
import java.util.Arrays;

/**
 * The per-channel map between the VAE's latent space and the transformer's (docs/qwen-image.md §7,
 * diffusers' QwenImagePipeline and QwenImageEditPipeline): the encoder's mean μ is normalised as
 * x = (μ − mean_c) / std_c, the decoder takes z = x·std_c + mean_c, with the config's
 * {@code latents_mean} and {@code latents_std} rounded to float32 once. Both run in float32 on
 * [B, z_dim, h, w] and return arrays attached to the input's manager.
 */
public final class LatentNormalization {
    private final float[] mean;
    private final float[] std;

    public LatentNormalization(QwenVaeConfig config) {
        this.mean = toFloats(config.latentsMean());
        this.std = toFloats(config.latentsStd());
    }

    private static float[] toFloats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    /** x = (μ − mean_c) / std_c: the VAE's latent mean → the transformer's space. */
    public NDArray normalize(NDArray mu) {
        check(mu);
        NDManager m = mu.getManager();
        return Precision.toFloat32(mu).sub(column(m, mean)).div(column(m, std));
    }

    /** z = x·std_c + mean_c: the transformer's latents → the VAE's space. */
    public NDArray denormalize(NDArray latents) {
        check(latents);
        NDManager m = latents.getManager();
        return Precision.toFloat32(latents).mul(column(m, std)).add(column(m, mean));
    }

    private NDArray column(NDManager m, float[] v) {
        return m.create(v, new Shape(1, v.length, 1, 1));
    }

    private void check(NDArray x) {
        long[] s = x.getShape().getShape();
        if (s.length != 4 || s[1] != mean.length) {
            throw new IllegalArgumentException("latents must be [batch, " + mean.length + ", height, width], got "
                    + Arrays.toString(s));
        }
    }
}
