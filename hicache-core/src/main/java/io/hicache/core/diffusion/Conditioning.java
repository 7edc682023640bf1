package io.hicache.core.diffusion;

import ai.djl.ndarray.NDArray;
import io.hicache.core.cache.SiteKey;

/**
 * The text conditioning of one generation on the device: the positive branch and, for true
 * classifier-free guidance, the negative one.
 *
 * @param negative null when there is no negative prompt
 */
public record Conditioning(Branch positive, Branch negative) {
    /**
     * One branch's conditioning.
     *
     * @param tokens per-token embeddings [B, L, D]
     * @param pooled a pooled vector [B, P], or null for models without one
     * @param mask the text attention mask [B, L] (1 keep, 0 pad), or null when every token is kept
     */
    public record Branch(NDArray tokens, NDArray pooled, NDArray mask) {}

    public boolean hasNegative() {
        return negative != null;
    }

    /** The conditioning of {@code branch} ({@link SiteKey#COND} or {@link SiteKey#UNCOND}). */
    public Branch of(String branch) {
        if (SiteKey.UNCOND.equals(branch)) {
            if (negative == null) {
                throw new IllegalStateException("no negative conditioning for the uncond branch");
            }
            return negative;
        }
        return positive;
    }
}
