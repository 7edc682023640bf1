package io.hicache.core.pipeline;

import java.awt.image.BufferedImage;

/**
 * The outcome of one {@link GenerationRequest}.
 *
 * @param image the decoded RGB image, or null when decoding was not requested
 * @param latents the final unpacked latents [1, C, H/8, W/8] before VAE scaling
 * @param stats timings, cache statistics and FLOPs
 */
public record GenerationResult(BufferedImage image, HostTensor latents, GenerationStats stats) {
}
