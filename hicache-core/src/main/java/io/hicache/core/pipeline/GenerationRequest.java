package io.hicache.core.pipeline;

import io.hicache.core.cache.CacheConfig;
import io.hicache.core.image.RgbImage;
import java.util.List;
import java.util.Objects;

/**
 * One image to generate.
 *
 * @param prompt the text prompt (also used for metadata when {@code embeddings} is given)
 * @param negativePrompt for models with true classifier-free guidance; null for none
 * @param seed initial noise seed (ignored when {@code initialNoise} is given)
 * @param steps denoising steps
 * @param width image width in pixels (multiple of 16)
 * @param height image height in pixels (multiple of 16)
 * @param guidance guidance scale (distilled guidance for FLUX.1-dev, CFG scale for others)
 * @param cache the cache configuration
 * @param embeddings precomputed text conditioning, or null to encode {@code prompt}
 * @param initialNoise unpacked initial latents [1, C, H/8, W/8], or null to draw them from {@code seed}
 * @param decode whether to decode the latents into an image (false: latents only, VAE not needed)
 * @param measureForecastError compute every module on forecast steps too and record the forecast error
 * @param trueCfgScale true classifier-free guidance scale s (v = v_neg + s·(v_cond − v_neg)); it runs
 *     only when a negative prompt or negative embeddings are given and s > 1
 * @param negativeEmbeddings precomputed conditioning of the negative prompt, or null to encode
 *     {@code negativePrompt} (when there is one)
 * @param images condition images (Qwen-Image-Edit), empty for text-to-image
 */
public record GenerationRequest(
        String prompt,
        String negativePrompt,
        long seed,
        int steps,
        int width,
        int height,
        double guidance,
        CacheConfig cache,
        TextEmbeddings embeddings,
        HostTensor initialNoise,
        boolean decode,
        boolean measureForecastError,
        double trueCfgScale,
        TextEmbeddings negativeEmbeddings,
        List<RgbImage> images) {
    public GenerationRequest {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(cache, "cache");
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        if (width < 16 || height < 16 || width % 16 != 0 || height % 16 != 0) {
            throw new IllegalArgumentException(
                    "width and height must be positive multiples of 16, got " + width + "x" + height);
        }
        if (!Double.isFinite(guidance) || guidance < 0) {
            throw new IllegalArgumentException("guidance must be a finite number >= 0, got " + guidance);
        }
        if (!Double.isFinite(trueCfgScale) || trueCfgScale < 0) {
            throw new IllegalArgumentException("true CFG scale must be a finite number >= 0, got " + trueCfgScale);
        }
        images = List.copyOf(images);
    }

    /** A request without true CFG and without condition images. */
    public GenerationRequest(String prompt, String negativePrompt, long seed, int steps, int width, int height,
            double guidance, CacheConfig cache, TextEmbeddings embeddings, HostTensor initialNoise, boolean decode,
            boolean measureForecastError) {
        this(prompt, negativePrompt, seed, steps, width, height, guidance, cache, embeddings, initialNoise, decode,
                measureForecastError, 1, null, List.of());
    }

    /** Whether a negative conditioning is given (as text or as embeddings). */
    public boolean hasNegative() {
        return negativeEmbeddings != null || negativePrompt != null;
    }

    /** A request with the usual defaults for everything but the prompt and seed. */
    public static GenerationRequest of(String prompt, long seed, CacheConfig cache) {
        return new GenerationRequest(prompt, null, seed, 50, 1024, 1024, 3.5, cache, null, null, true, false);
    }

    public GenerationRequest withSize(int w, int h) {
        return new GenerationRequest(prompt, negativePrompt, seed, steps, w, h, guidance, cache, embeddings,
                initialNoise, decode, measureForecastError, trueCfgScale, negativeEmbeddings, images);
    }

    public GenerationRequest withSteps(int n) {
        return new GenerationRequest(prompt, negativePrompt, seed, n, width, height, guidance, cache, embeddings,
                initialNoise, decode, measureForecastError, trueCfgScale, negativeEmbeddings, images);
    }

    public GenerationRequest withCache(CacheConfig c) {
        return new GenerationRequest(prompt, negativePrompt, seed, steps, width, height, guidance, c, embeddings,
                initialNoise, decode, measureForecastError, trueCfgScale, negativeEmbeddings, images);
    }

    /** This request with true CFG at scale {@code s} over {@code negative} (null: encode the negative prompt). */
    public GenerationRequest withTrueCfg(double s, TextEmbeddings negative) {
        return new GenerationRequest(prompt, negativePrompt, seed, steps, width, height, guidance, cache, embeddings,
                initialNoise, decode, measureForecastError, s, negative, images);
    }

    public GenerationRequest withImages(List<RgbImage> conditionImages) {
        return new GenerationRequest(prompt, negativePrompt, seed, steps, width, height, guidance, cache, embeddings,
                initialNoise, decode, measureForecastError, trueCfgScale, negativeEmbeddings, conditionImages);
    }
}
