package io.hicache.core.nn;

import ai.djl.ndarray.NDArray;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.metrics.FlopCounter.Kind;
import io.hicache.core.runtime.Kernels;

/**
 * The attention core softmax(q·kᵀ·scale + mask)·v of one layer. The dense kernel is the default;
 * a sparse method (Chipmunk's key subsets) replaces it and may keep per-site state keyed by
 * {@code site}.
 */
@FunctionalInterface
public interface AttentionKernel {
    /**
     * Attends q [B, H, Sq, Dh] over k, v [B, H, Sk, Dh] with an optional additive mask broadcastable
     * to [B, H, Sq, Sk] (null for none); returns [B, Sq, H·Dh] and counts the FLOPs it executed.
     */
    NDArray attend(SiteKey site, NDArray q, NDArray k, NDArray v, NDArray mask, FlopCounter flops);

    /** Scaled-dot-product attention with scale 1/√Dh by {@link Kernels#attention}'s route; 4·B·H·Sq·Sk·Dh FLOPs. */
    AttentionKernel DENSE = (site, q, k, v, mask, flops) -> {
        long b = q.getShape().get(0);
        long heads = q.getShape().get(1);
        long len = q.getShape().get(2);
        long dh = q.getShape().get(3);
        flops.add(Kind.ATTENTION_SCORES, 4 * b * heads * len * k.getShape().get(2) * dh);
        Kernels kernels = Kernels.of(q);
        double scale = 1 / Math.sqrt(dh);
        NDArray o = kernels.attention(q, k, v, mask, scale);
        return o.transpose(0, 2, 1, 3).reshape(b, len, heads * dh);
    };
}
