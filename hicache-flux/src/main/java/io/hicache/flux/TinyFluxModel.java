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
 * A complete FLUX.1-architecture model at toy size, in the exact diffusers layout of the real
 * repositories: transformer, scheduler, both text encoders with their tokenizers, and the VAE, with
 * seeded random weights. It generates (random-looking) images in well under a second per step on
 * a CPU, so every path of the project runs without a download; it is the {@code builtin:flux-tiny}
 * model and what {@code hicache init-tiny flux DIR} writes.
 */
public final class TinyFluxModel {
    /** Bumped whenever the written files change, so cached copies are regenerated. */
    public static final String VERSION = "1";

    private TinyFluxModel() {}

    /** The transformer of the tiny model: its widths match the tiny T5 (32) and CLIP (32). */
    public static FluxConfig transformerConfig() {
        FluxConfig t = TinyFlux.config();
        return new FluxConfig(t.inChannels(), t.outChannels(), t.numLayers(), t.numSingleLayers(), t.attentionHeadDim(),
                t.numAttentionHeads(), T5Config.tiny().dModel, ClipTextConfig.tiny().hiddenSize, true,
                t.axesDimsRope());
    }

    /** Writes every component under {@code dir} (created if needed). */
    public static void write(Path dir, long seed, TensorType dtype, boolean shardedT5) throws IOException {
        TinyFlux.write(dir, transformerConfig(), seed, dtype, false);
        TinyT5.write(dir.resolve("text_encoder_2"), seed + 1, dtype, shardedT5);
        TinyT5.writeTokenizer(dir.resolve("tokenizer_2"));
        TinyClip.write(dir.resolve("text_encoder"), seed + 2, dtype);
        TinyClip.writeTokenizer(dir.resolve("tokenizer"));
        TinyVae.write(dir.resolve("vae"), VaeConfig.tiny(), seed + 3, dtype);
    }
}
