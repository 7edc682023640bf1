/**
 * FLUX.1's AutoencoderKL: the decoder (transformer latents to RGB) and the encoder (RGB to latents,
 * for training data and image-to-image).
 *
 * <pre>{@code
 * try (VaeDecoder vae = VaeDecoder.load(root.resolve("vae"), TensorType.BF16, manager)) {
 *     NDArray image = vae.decode(latents); // [B, 16, H/8, W/8] → float32 [B, 3, H, W] in [−1, 1]
 * }
 * try (VaeEncoder vae = VaeEncoder.load(root.resolve("vae"), TensorType.F32, manager)) {
 *     NDArray latents = vae.encode(image); // [B, 3, H, W] in [−1, 1] → float32 [B, 16, H/8, W/8]
 * }
 * // or BFL's single file: VaeDecoder.loadBfl(root.resolve("ae.safetensors"), VaeConfig.flux1(), ...)
 * }</pre>
 */
package io.hicache.flux.vae;
