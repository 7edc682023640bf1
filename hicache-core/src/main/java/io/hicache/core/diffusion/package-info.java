/**
 * The diffusion kit every backend shares: the {@link io.hicache.core.diffusion.Denoiser} a model
 * wiring implements, guidance strategies, the denoising loop over a flow-match sampler with one
 * cache session per generation, and the text-to-image pipeline skeleton around it.
 */
package io.hicache.core.diffusion;
