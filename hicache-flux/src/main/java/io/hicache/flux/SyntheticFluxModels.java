package io.hicache.flux;

import io.hicache.core.runtime.TensorType;
import io.hicache.flux.text.ClipTextConfig;
import io.hicache.flux.text.T5Config;
import io.hicache.flux.text.TinyClip;
import io.hicache.flux.text.TinyT5;
import io.hicache.flux.vae.TinyVae;
import io.hicache.flux.vae.VaeConfig;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Complete FLUX.1-architecture models with seeded random weights, in the exact diffusers layout of
 * the real repositories (transformer, scheduler, both text encoders with tokenizers, VAE), so every
 * path of the project runs without a download:
 * <ul>
 *   <li>{@code flux-tiny}: 2 double + 2 single blocks, hidden 32 — a generation in well under a
 *   second; the README's model, {@code builtin:flux-tiny} and {@code hicache init-tiny flux}.</li>
 *   <li>{@code flux-mid}: 8 double + 16 single blocks, hidden 768 (6 heads × 128), RoPE axes
 *   (16, 56, 56) as FLUX.1 — the benchmark model of a 2-core CPU ({@code builtin:flux-mid}); at
 *   512² it has 1024 image tokens against 512 T5 tokens, the ratio FLUX.1-dev has at 1024².</li>
 * </ul>
 * Images from random weights look like noise; what these models exercise is the machinery.
 */
public final class SyntheticFluxModels {
    /** Bumped whenever the written files change, so cached built-in copies are regenerated. */
    public static final String VERSION = "1";

    private SyntheticFluxModels() {}

    /** The tiny transformer: its widths match the tiny T5 (32) and CLIP (32). */
    public static FluxConfig tinyTransformerConfig() {
        FluxConfig t = TinyFlux.config();
        return new FluxConfig(t.inChannels(), t.outChannels(), t.numLayers(), t.numSingleLayers(), t.attentionHeadDim(),
                t.numAttentionHeads(), T5Config.tiny().dModel, ClipTextConfig.tiny().hiddenSize, true,
                t.axesDimsRope());
    }

    /** The mid-size benchmark transformer. */
    public static FluxConfig midTransformerConfig() {
        return new FluxConfig(64, 64, 8, 16, 128, 6, midT5Config().dModel, ClipTextConfig.tiny().hiddenSize, true,
                new int[] {16, 56, 56});
    }

    /** A small T5 for the mid model: the transformer's cost does not depend on the text encoder's size. */
    static T5Config midT5Config() {
        T5Config t = T5Config.tiny();
        return new T5Config(256, 512, 32, 8, 2, t.vocabSize, t.relativeAttentionNumBuckets,
                t.relativeAttentionMaxDistance, t.layerNormEpsilon);
    }

    /** Writes the tiny model under {@code dir} (created if needed). */
    public static void writeTiny(Path dir, long seed, TensorType dtype, boolean shardedT5) throws IOException {
        write(dir, tinyTransformerConfig(), T5Config.tiny(), seed, dtype, shardedT5);
    }

    /** Writes the mid-size benchmark model under {@code dir}. */
    public static void writeMid(Path dir, long seed, TensorType dtype) throws IOException {
        write(dir, midTransformerConfig(), midT5Config(), seed, dtype, false);
    }

    private static void write(Path dir, FluxConfig transformer, T5Config t5, long seed, TensorType dtype,
            boolean shardedT5) throws IOException {
        TinyFlux.write(dir, transformer, seed, dtype, false);
        TinyT5.write(dir.resolve("text_encoder_2"), t5, seed + 1, dtype, shardedT5);
        TinyT5.writeTokenizer(dir.resolve("tokenizer_2"));
        TinyClip.write(dir.resolve("text_encoder"), seed + 2, dtype);
        TinyClip.writeTokenizer(dir.resolve("tokenizer"));
        TinyVae.write(dir.resolve("vae"), VaeConfig.tiny(), seed + 3, dtype);
    }
}
