package io.hicache.core.diffusion;

import ai.djl.ndarray.NDArray;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.runtime.Precision;
import java.util.List;

/**
 * How the branches of a step combine. Without true classifier-free guidance only the conditional
 * branch runs. With it (a negative conditioning exists and the scale is above 1, diffusers' rule)
 * both run and v = v_neg + s·(v_cond − v_neg), optionally rescaled per token to the norm of
 * v_cond (Qwen-Image). Guidance that a model embeds (FLUX.1-dev's distilled scale) is the model's
 * input, not a strategy here.
 *
 * @param trueCfgScale s; 1 or less turns true CFG off
 * @param rescaleToConditionalNorm Qwen-Image's ‖v_cond‖ per-token rescale of the combination
 */
public record Guidance(double trueCfgScale, boolean rescaleToConditionalNorm) {
    public Guidance {
        if (!Double.isFinite(trueCfgScale) || trueCfgScale < 0) {
            throw new IllegalArgumentException("true CFG scale must be a finite number >= 0, got " + trueCfgScale);
        }
    }

    /** Only the conditional branch. */
    public static Guidance none() {
        return new Guidance(1, false);
    }

    /** The branches a step runs when the conditioning {@code hasNegative}. */
    public List<String> branches(boolean hasNegative) {
        return hasNegative && trueCfgScale > 1 ? List.of(SiteKey.COND, SiteKey.UNCOND) : List.of(SiteKey.COND);
    }

    /** The guided velocity in float32 from the branch velocities (any float dtype). */
    public NDArray combine(NDArray conditional, NDArray negative) {
        NDArray cond = Precision.toFloat32(conditional);
        NDArray neg = Precision.toFloat32(negative);
        NDArray guided = neg.add(cond.sub(neg).mul(trueCfgScale));
        if (!rescaleToConditionalNorm) {
            return guided;
        }
        NDArray condNorm = cond.norm(new int[] {-1}, true);
        NDArray guidedNorm = guided.norm(new int[] {-1}, true);
        return guided.mul(condNorm.div(guidedNorm));
    }
}
