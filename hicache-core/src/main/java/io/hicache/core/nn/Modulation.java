package io.hicache.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.metrics.FlopCounter.Kind;
import io.hicache.core.runtime.Kernels;

/**
 * The adaptive-norm modulation of a DiT block (AdaLayerNormZero, AdaLayerNormContinuous, Qwen's
 * img_mod/txt_mod): Linear(SiLU(temb)) [B, n·d] split into {@code n} chunks of [B, 1, d] that
 * broadcast over tokens. SiLU(temb) is shared by every block, so callers pass it precomputed.
 */
public final class Modulation {
    private Modulation() {}

    /** Declares the modulation linear {@code name} for {@code chunks} chunks of width {@code dim}. */
    public static ParameterSpec declare(ParameterSpec s, String name, int chunks, long dim) {
        return Linear.declare(s, name, chunks * dim, dim, true);
    }

    /** The {@code n} chunks of Linear(siluTemb), each [B, 1, d]. */
    public static NDList chunks(Parameters p, String name, NDArray siluTemb, int n, FlopCounter flops) {
        NDArray e = Linear.forward(p, name, siluTemb, Kind.EMBEDDINGS, flops);
        NDList chunks = new NDList(n);
        for (NDArray chunk : e.split(n, 1)) {
            chunks.add(chunk.expandDims(1));
        }
        return chunks;
    }

    /**
     * diffusers' AdaLayerNormContinuous (the {@code norm_out} of FLUX and Qwen-Image): the chunks of
     * {@code name} in (scale, shift) order — not AdaLayerNormZero's (shift, scale) — applied to a
     * LayerNorm of {@code x} without affine.
     */
    public static NDArray continuousNorm(Parameters p, String name, NDArray x, NDArray siluTemb, double eps,
            FlopCounter flops) {
        NDList e = chunks(p, name, siluTemb, 2, flops);
        return Kernels.of(x).modulate(x, e.get(1), e.get(0), eps);
    }

    /**
     * The FLOPs of one dual-stream (MMDiT) block over {@code tokens} = text + image tokens of width
     * {@code d}: both streams' 6-chunk modulation on temb, q/k/v/out of both streams, the attention
     * core, and both streams' feed-forward (width {@code mlp}).
     */
    public static void countDualStreamBlock(FlopCounter f, long d, long mlp, long tokens) {
        f.add(Kind.EMBEDDINGS, 2 * (2 * d * 6 * d));
        f.add(Kind.ATTENTION_PROJECTIONS, 8 * tokens * d * d);
        f.add(Kind.ATTENTION_SCORES, 4 * d * tokens * tokens);
        f.add(Kind.MLP, 2 * 2 * tokens * d * mlp);
    }
}
