package io.hicache.flux;

import io.hicache.core.pipeline.ModelDefaults;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import io.hicache.flux.text.ClipTextConfig;
import io.hicache.flux.text.T5Config;
import io.hicache.flux.text.TinyClip;
import io.hicache.flux.text.TinyT5;
import io.hicache.flux.vae.TinyVae;
import io.hicache.flux.vae.VaeConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The architecture of {@code builtin:flux-shapes}, the FLUX.1-architecture model trained on the
 * Shapes task ({@code io.hicache.core.shapes}): a 128² image is one flat background with one
 * coloured shape, described by {@code a large red star in the top left corner on a blue background}.
 *
 * <p>Every part is the real FLUX.1 architecture in the real diffusers layout, only small: a
 * schnell-style transformer (no guidance embedding: classifier-free guidance is true CFG, learnt
 * through condition dropout) of 2 double + 4 single blocks at hidden 192; an AutoencoderKL with 16
 * latent channels and 8× down-sampling (128² → 16×16×16 → 64 tokens); frozen random T5 (its heads
 * set to look at neighbouring words) and CLIP text encoders whose tokenizers keep every word of the
 * grammar one token. The model carries its own
 * sampling defaults in {@code model_index.json} ({@link FluxBackend#defaults}).
 *
 * <p>{@link #writeInitial} writes the untrained model (seeded random weights) that training starts
 * from; training replaces the transformer and VAE weights and the VAE's latent statistics.
 */
public final class ShapesModel {
    /** The grammar's words, each one token in both tokenizers. */
    public static final List<String> WORDS = List.of("a", "small", "large", "red", "orange", "yellow", "green",
            "blue", "purple", "white", "black", "circle", "square", "triangle", "star", "in", "the", "top",
            "bottom", "left", "right", "corner", "at", "on", "center", "background");
    /** T5 pads every prompt to this many tokens; a full grammar prompt has at most 14 with {@code </s>}. */
    public static final int TEXT_TOKENS = 32;
    /**
     * What each T5 head looks at: the next word, the previous one, and two places either way. With
     * it, "blue" in "on a blue background" and "red" in "a red star" come out of the encoder
     * different from the same words in "a blue star on a red background"
     * ({@link TinyT5#writeWithNeighbourHeads}).
     */
    static final int[] T5_NEIGHBOURS = {1, -1, 2, -2};
    /** Its sampling defaults: native size, steps, no embedded guidance, true CFG scale with a negative prompt. */
    public static final ModelDefaults DEFAULTS = new ModelDefaults(128, 128, 28, 0, 1);

    private ShapesModel() {}

    public static FluxConfig transformerConfig() {
        return new FluxConfig(64, 64, 2, 4, 64, 3, t5Config().dModel, clipConfig().hiddenSize, false,
                new int[] {8, 28, 28});
    }

    public static T5Config t5Config() {
        T5Config t = T5Config.tiny();
        return new T5Config(64, 128, 16, 4, 2, TinyT5.VOCAB_SIZE, t.relativeAttentionNumBuckets,
                t.relativeAttentionMaxDistance, t.layerNormEpsilon);
    }

    public static ClipTextConfig clipConfig() {
        ClipTextConfig t = ClipTextConfig.tiny();
        return new ClipTextConfig(TinyClip.vocabularySize(WORDS), 32, 64, 2, 4, 77, t.activation, t.layerNormEps,
                t.eosTokenId);
    }

    /**
     * The autoencoder: FLUX's AutoencoderKL structure with four levels of 16, 32, 64, 64 channels
     * (8× down-sampling), one ResNet per level, 8 GroupNorm groups and the mid-block attention.
     * The scaling and shift factors here are placeholders; training measures them on the data.
     */
    public static VaeConfig vaeConfig(double scalingFactor, double shiftFactor) {
        return new VaeConfig(3, 3, 16, new int[] {16, 32, 64, 64}, 1, 8, scalingFactor, shiftFactor, true, false,
                false);
    }

    /**
     * Writes the untrained model under {@code dir}: model_index.json with the sampling defaults,
     * scheduler, transformer and VAE (encoder included) with seeded random weights, and the frozen
     * text encoders with their tokenizers. Text encoders in float32, as they stay.
     */
    public static void writeInitial(Path dir, long seed) throws IOException {
        TinyFlux.write(dir, transformerConfig(), seed, TensorType.F32, false);
        AtomicFiles.writeString(dir.resolve("model_index.json"), modelIndex());
        TinyT5.writeWithNeighbourHeads(dir.resolve("text_encoder_2"), t5Config(), seed + 1, TensorType.F32,
                T5_NEIGHBOURS);
        TinyT5.writeTokenizer(dir.resolve("tokenizer_2"), WORDS, TEXT_TOKENS);
        TinyClip.write(dir.resolve("text_encoder"), clipConfig(), seed + 2, TensorType.F32);
        TinyClip.writeTokenizer(dir.resolve("tokenizer"), WORDS);
        TinyVae.write(dir.resolve("vae"), vaeConfig(1, 0), seed + 3, TensorType.F32, true);
    }

    /** FLUX.1's component map plus this model's sampling defaults under {@code _hicache_defaults}. */
    static String modelIndex() {
        String index = TinyFlux.MODEL_INDEX.stripTrailing();
        String defaults = String.format(java.util.Locale.ROOT,
                ",\n  \"%s\": {\"width\": %d, \"height\": %d, \"num_inference_steps\": %d, "
                        + "\"guidance_scale\": %s, \"true_cfg_scale\": %s}\n}\n",
                FluxBackend.DEFAULTS_KEY, DEFAULTS.width(), DEFAULTS.height(), DEFAULTS.steps(),
                Double.toString(DEFAULTS.guidance()), Double.toString(DEFAULTS.trueCfgScale()));
        return index.substring(0, index.length() - 1).stripTrailing() + defaults;
    }
}
