package io.hicache.core.diffusion;

import ai.djl.ndarray.NDArray;
import io.hicache.core.cache.CacheSession;
import io.hicache.core.metrics.FlopCounter;

/**
 * A transformer prepared for one generation: conditioning of every guidance branch, position
 * tables and embedded guidance are bound, so a step is one call per branch. The loop owns the
 * cache session and the FLOP counter; the denoiser owns its per-generation tensors and frees them
 * on close.
 */
public interface Denoiser extends AutoCloseable {
    /**
     * The velocity for the packed latents {@code latents} [B, N, C] (float32) under the conditioning
     * of {@code branch} ({@link io.hicache.core.cache.SiteKey#COND} or {@code UNCOND}) at the
     * sampler's model timestep {@code timestep}; [B, N, C] in the model's dtype, attached to the
     * manager of {@code latents}. Cached sites are resolved in {@code session} under the branch.
     */
    NDArray velocity(NDArray latents, String branch, float timestep, CacheSession session, FlopCounter flops);

    @Override
    void close();
}
