package io.hicache.core.sampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * The 2×2 patchify shared by FLUX and Qwen-Image: a VAE latent [B, C, h, w] (h, w even) becomes
 * [B, (h/2)·(w/2), 4C] tokens with
 * {@code packed[b, r·(w/2) + c, ch·4 + py·2 + px] = latent[b, ch, 2r + py, 2c + px]}; unpacking is
 * the exact inverse. Token positions for RoPE: image token (r, c) has ids (0, r, c), text tokens 0.
 */
public final class LatentPacking {
    private LatentPacking() {}

    /** [B, C, h, w] → [B, (h/2)(w/2), 4C]. */
    public static NDArray pack(NDArray latents) {
        Shape s = latents.getShape();
        if (s.dimension() != 4 || s.get(2) % 2 != 0 || s.get(3) % 2 != 0) {
            throw new IllegalArgumentException("latents must be [B, C, h, w] with even h and w, got " + s);
        }
        long b = s.get(0);
        long c = s.get(1);
        long h2 = s.get(2) / 2;
        long w2 = s.get(3) / 2;
        try (NDArray grid = latents.reshape(b, c, h2, 2, w2, 2);
                NDArray moved = grid.transpose(0, 2, 4, 1, 3, 5)) {
            return moved.reshape(b, h2 * w2, c * 4);
        }
    }

    /** [B, (h/2)(w/2), 4C] → [B, C, h, w] for a latent of height h and width w. */
    public static NDArray unpack(NDArray packed, long height, long width) {
        Shape s = packed.getShape();
        if (height % 2 != 0 || width % 2 != 0) {
            throw new IllegalArgumentException("latent height and width must be even, got " + height + "×" + width);
        }
        long h2 = height / 2;
        long w2 = width / 2;
        if (s.dimension() != 3 || s.get(1) != h2 * w2 || s.get(2) % 4 != 0) {
            throw new IllegalArgumentException("packed latents " + s + " do not fit a " + height + "×" + width
                    + " latent: expected [B, " + (h2 * w2) + ", 4C]");
        }
        long b = s.get(0);
        long c = s.get(2) / 4;
        try (NDArray grid = packed.reshape(b, h2, w2, c, 2, 2);
                NDArray moved = grid.transpose(0, 3, 1, 4, 2, 5)) {
            return moved.reshape(b, c, height, width);
        }
    }
}
