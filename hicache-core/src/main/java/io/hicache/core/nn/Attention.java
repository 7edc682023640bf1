package io.hicache.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.metrics.FlopCounter.Kind;
import io.hicache.core.runtime.Kernels;

/**
 * diffusers' {@code Attention} of the MMDiT family (FLUX, Qwen-Image) in its parameter layout:
 * {@code to_q/to_k/to_v} with per-head RMSNorm {@code norm_q/norm_k}; for joint (dual-stream)
 * attention also the context projections {@code add_q_proj/add_k_proj/add_v_proj} with
 * {@code norm_added_q/norm_added_k}, and the output projections {@code to_out.0} (image) and
 * {@code to_add_out} (text). The joint sequence is [text; image]. RoPE rotates q and k after the
 * norms; the core runs through a pluggable {@link AttentionKernel}.
 *
 * @param heads number of heads
 * @param headDim width of a head
 * @param eps the QK RMSNorm epsilon
 */
public record Attention(long heads, long headDim, double eps) {
    public long dim() {
        return heads * headDim;
    }

    /** The image-stream (or only-stream) q/k/v projections and QK norms under {@code prefix}. */
    public ParameterSpec declareSelf(ParameterSpec s, String prefix) {
        for (String proj : new String[] {"to_q", "to_k", "to_v"}) {
            Linear.declare(s, prefix + proj, dim(), dim(), true);
        }
        return s.norm(prefix + "norm_q", headDim, false).norm(prefix + "norm_k", headDim, false);
    }

    /**
     * Everything of a joint attention under {@code prefix}: both streams' q/k/v and outputs, then
     * the QK norms (the order tiny checkpoints are drawn in).
     */
    public ParameterSpec declareJoint(ParameterSpec s, String prefix) {
        for (String proj : new String[] {"to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "to_out.0",
            "to_add_out"}) {
            Linear.declare(s, prefix + proj, dim(), dim(), true);
        }
        for (String norm : new String[] {"norm_q", "norm_k", "norm_added_q", "norm_added_k"}) {
            s.norm(prefix + norm, headDim, false);
        }
        return s;
    }

    /**
     * Joint attention of normalised image tokens {@code img} [B, N, d] and text tokens {@code txt}
     * [B, L, d] with parameters scoped to the attention module; returns {image output, text output}
     * after {@code to_out.0} and {@code to_add_out}. {@code mask} (additive, or null) covers the
     * joint sequence.
     */
    public NDArray[] joint(Parameters p, NDArray img, NDArray txt, RotaryEmbedding rope, NDArray mask,
            AttentionKernel kernel, SiteKey site, FlopCounter flops) {
        NDArray q = projectHeads(p, txt, "add_q_proj", "norm_added_q", flops)
                .concat(projectHeads(p, img, "to_q", "norm_q", flops), 2);
        NDArray k = projectHeads(p, txt, "add_k_proj", "norm_added_k", flops)
                .concat(projectHeads(p, img, "to_k", "norm_k", flops), 2);
        NDArray v = projectHeads(p, txt, "add_v_proj", null, flops).concat(projectHeads(p, img, "to_v", null, flops), 2);
        NDArray o = kernel.attend(site, rope.apply(q), rope.apply(k), v, mask, flops);
        long textTokens = txt.getShape().get(1);
        NDArray txtOut = Linear.forward(p, "to_add_out", o.get(new NDIndex(":, :" + textTokens)),
                Kind.ATTENTION_PROJECTIONS, flops);
        NDArray imgOut = Linear.forward(p, "to_out.0", o.get(new NDIndex(":, " + textTokens + ":")),
                Kind.ATTENTION_PROJECTIONS, flops);
        return new NDArray[] {imgOut, txtOut};
    }

    /** Self-attention of {@code x} [B, S, d] without an output projection: [B, S, d]. */
    public NDArray self(Parameters p, NDArray x, RotaryEmbedding rope, NDArray mask, AttentionKernel kernel,
            SiteKey site, FlopCounter flops) {
        NDArray q = projectHeads(p, x, "to_q", "norm_q", flops);
        NDArray k = projectHeads(p, x, "to_k", "norm_k", flops);
        NDArray v = projectHeads(p, x, "to_v", null, flops);
        return kernel.attend(site, rope.apply(q), rope.apply(k), v, mask, flops);
    }

    /** Linear {@code proj} of x [B, S, d] → [B, H, S, Dh], RMS-normalising each head with {@code norm}. */
    private NDArray projectHeads(Parameters p, NDArray x, String proj, String norm, FlopCounter flops) {
        NDArray y = Linear.forward(p, proj, x, Kind.ATTENTION_PROJECTIONS, flops);
        Shape s = y.getShape();
        NDArray h = y.reshape(s.get(0), s.get(1), heads, headDim);
        if (norm != null) {
            h = Kernels.of(h).rmsNorm(h, p.get(norm + ".weight"), eps);
        }
        return h.transpose(0, 2, 1, 3);
    }
}
