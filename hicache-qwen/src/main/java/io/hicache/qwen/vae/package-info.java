/**
 * Qwen-Image's VAE ({@code AutoencoderKLQwenImage}, the Wan 2.1 causal video VAE) for single images:
 * its config, stored layout, the one-frame decoder on 2-D convolutions and the tiny writer.
 */
package io.hicache.qwen.vae;
