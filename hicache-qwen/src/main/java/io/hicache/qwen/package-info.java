/**
 * Qwen-Image and Qwen-Image-Edit on the diffusion kit of {@code hicache-core}: the
 * {@code QwenImageTransformer2DModel} wiring, the Qwen2.5-VL language model (and vision tower) as
 * text encoder, the Qwen2 byte-level BPE tokenizer and the {@code AutoencoderKLQwenImage} VAE.
 */
package io.hicache.qwen;
