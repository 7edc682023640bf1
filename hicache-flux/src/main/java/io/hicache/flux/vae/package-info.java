/**
 * FLUX.1's AutoencoderKL decoder: transformer latents to RGB.
 *
 * <pre>{@code
 * try (VaeDecoder vae = VaeDecoder.load(root.resolve("vae"), TensorType.BF16, manager)) {
 *     NDArray image = vae.decode(latents); // [B, 16, H/8, W/8] → float32 [B, 3, H, W] in [−1, 1]
 * }
 * // or BFL's single file: VaeDecoder.loadBfl(root.resolve("ae.safetensors"), VaeConfig.flux1(), ...)
 * }</pre>
 */
package io.hicache.flux.vae;
