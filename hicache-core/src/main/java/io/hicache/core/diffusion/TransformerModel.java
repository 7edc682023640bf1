package io.hicache.core.diffusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.pipeline.TextEmbeddings;

/**
 * The denoising side of a backend, as the {@link DiffusionPipeline} skeleton uses it: the shape of
 * its latents, the rule its text conditioning must satisfy, and the denoising loop bound to its
 * transformer (usually through {@link DenoisingLoop}).
 */
public interface TransformerModel {
    /** The unpacked latent of one image of {@code width} × {@code height} pixels, e.g. [1, 16, H/8, W/8]. */
    Shape latentShape(int width, int height);

    /**
     * Checks the text conditioning of one prompt against this model (the one place the rule lives).
     *
     * @param what names the conditioning in the message ("prompt embeddings", "negative prompt embeddings")
     * @throws IllegalArgumentException naming the expected and the actual shapes
     */
    void checkEmbeddings(TextEmbeddings embeddings, String what);

    /** Denoises {@code noise} (the unpacked latent, float32) under {@code conditioning}. */
    DenoisingLoop.Outcome denoise(Conditioning conditioning, NDArray noise, Sampling sampling, NDManager manager);

    /**
     * What one generation samples with.
     *
     * @param guidance the scale a guidance-distilled model embeds (ignored by others)
     * @param trueCfgScale true classifier-free guidance scale; it runs only with a negative conditioning and s > 1
     * @param cache cache parameters; null computes every step in full
     */
    record Sampling(int width, int height, int steps, double guidance, double trueCfgScale, CacheConfig cache,
            boolean measureForecastError) {}
}
