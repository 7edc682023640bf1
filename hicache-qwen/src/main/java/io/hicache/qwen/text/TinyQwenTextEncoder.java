package io.hicache.qwen.text;

import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import io.hicache.core.weights.TinyWeights;
import io.hicache.qwen.text.QwenTextEncoder.Layout;
import io.hicache.qwen.vision.QwenVisionConfig;
import io.hicache.qwen.vision.QwenVisionTower;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes a tiny Qwen2.5-VL text encoder ({@code text_encoder/}) as Qwen-Image ships it: config.json,
 * {@code model-0000k-of-0000n.safetensors} shards and {@code model.safetensors.index.json}, holding
 * the language model, the complete vision tower of {@link QwenVisionConfig#tiny} and
 * {@code lm_head.weight} (which the encoder must not read), under either naming layout. The same
 * seed gives the same values in both layouts.
 */
public final class TinyQwenTextEncoder {
    private TinyQwenTextEncoder() {}

    /** {@link QwenTextConfig#tiny()} in {@code dir}: legacy names, 4 shards, as the real folder. */
    public static void write(Path dir, long seed, TensorType dtype) throws IOException {
        write(dir, QwenTextConfig.tiny(), seed, dtype, Layout.LEGACY, 4);
    }

    /**
     * Seeded weights named in {@code layout} and split over {@code shards} files: embeddings N(0, 1),
     * projections N(0, 0.2) (ten times transformers' initialisation, so that every layer of a tiny
     * model changes the residual stream visibly), norm weights near one and biases N(0, 0.02). The
     * vision patch embedding gets N(0, 0.03) instead, so that its 1176-value dot products come out
     * near unit scale. The language model's tensors are drawn first, so its values do not depend on
     * the vision tower's.
     */
    public static void write(Path dir, QwenTextConfig c, long seed, TensorType dtype, Layout layout, int shards)
            throws IOException {
        if (c.vocabSize() < TinyQwenTokenizer.SIZE) {
            throw new IllegalArgumentException("vocab_size " + c.vocabSize() + " is smaller than the tiny tokenizer's "
                    + TinyQwenTokenizer.SIZE + " tokens");
        }
        Files.createDirectories(dir);
        AtomicFiles.writeString(dir.resolve("config.json"), c.toJson());
        ParameterSpec stored = new ParameterSpec();
        for (Map.Entry<String, long[]> e : QwenTextEncoder.spec(c).shapes().entrySet()) {
            stored.add(layout.stored(e.getKey()), e.getValue());
        }
        QwenVisionConfig vision = QwenVisionConfig.tiny(c.hiddenSize());
        for (Map.Entry<String, long[]> e : QwenVisionTower.spec(vision).shapes().entrySet()) {
            stored.add(layout.visual() + e.getKey().substring("visual.".length()), e.getValue());
        }
        stored.add("lm_head.weight", c.vocabSize(), c.hiddenSize());
        new TinyWeights(seed).fill(stored, TinyQwenTextEncoder::deviation)
                .writeSharded(dir, "model", shards, dtype);
    }

    private static double deviation(String name) {
        if (name.contains("embed_tokens")) {
            return 1.0;
        }
        return name.contains("patch_embed") ? 0.03 : 0.2;
    }
}
