package io.hicache.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
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
     * AdaLayerNormZero's chunks (n = 6: shift, scale and gate of the attention, then of the MLP;
     * n = 3, the single-stream form: shift, scale, gate), all from the one product, or with
     * {@code gatesOnly} just the gates (every third chunk; null at the other indices), each from its
     * own rows of the weights. A block whose cached modules are all forecast needs its gates alone,
     * which read a third of the modulation's weights; the rest of a forecast step is a few passes
     * over the cache, so these reads are a visible share of it.
     */
    public static NDArray[] zeroChunks(Parameters p, String name, NDArray siluTemb, int n, boolean gatesOnly,
            FlopCounter flops) {
        if (!gatesOnly) {
            return chunks(p, name, siluTemb, n, flops).toArray(new NDArray[0]);
        }
        NDArray w = p.get(name + ".weight");
        NDArray b = p.find(name + ".bias");
        long in = w.getShape().get(1);
        long d = w.getShape().get(0) / n;
        NDArray[] out = new NDArray[n];
        for (int i = 2; i < n; i += 3) {
            NDIndex rows = new NDIndex(i * d + ":" + (i + 1) * d);
            NDArray wi = w.get(rows);
            NDArray bi = b == null ? null : b.get(rows);
            // the row views would otherwise belong to the weights' manager and outlive the block
            siluTemb.getManager().attachAll(bi == null ? new NDArray[] {wi} : new NDArray[] {wi, bi});
            flops.linear(Kind.EMBEDDINGS, siluTemb.getShape().size() / in, in, d);
            out[i] = Layers.linear(siluTemb, wi, bi).expandDims(1);
        }
        return out;
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
