/**
 * The Qwen-Image transformer ({@code QwenImageTransformer2DModel}) on the diffusion kit: its config,
 * the MSRoPE positions, the forward with HiCache sites per block and branch, the analytic FLOPs, its
 * {@link io.hicache.core.diffusion.Denoiser} binding with true CFG, and the tiny model writer.
 */
package io.hicache.qwen.transformer;
