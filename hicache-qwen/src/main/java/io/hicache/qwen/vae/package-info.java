/**
 * Qwen-Image's VAE ({@code AutoencoderKLQwenImage}, the Wan 2.1 causal video VAE) for single images:
 * its config, stored layout, the one-frame encoder and decoder on 2-D convolutions with their shared
 * blocks, the latent normalisation between the VAE's and the transformer's space, and the tiny writer.
 */
package io.hicache.qwen.vae;
