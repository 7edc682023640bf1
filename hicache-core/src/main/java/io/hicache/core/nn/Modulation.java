package io.hicache.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.metrics.FlopCounter.Kind;

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
}
