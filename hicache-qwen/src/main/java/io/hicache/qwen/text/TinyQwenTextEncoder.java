package io.hicache.qwen.text;

import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import io.hicache.core.weights.TinyWeights;
import io.hicache.qwen.text.QwenTextEncoder.Layout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes a tiny Qwen2.5-VL text encoder ({@code text_encoder/}) as Qwen-Image ships it: config.json,
 * {@code model-0000k-of-0000n.safetensors} shards and {@code model.safetensors.index.json}, holding
 * the language model, a few vision-tower tensors and {@code lm_head.weight} (which the encoder must
 * not read), under either naming layout. The same seed gives the same values in both layouts.
 */
public final class TinyQwenTextEncoder {
    static final int VISION_DEPTH = 1;
    static final int VISION_HIDDEN = 16;

    private TinyQwenTextEncoder() {}

    /** {@link QwenTextConfig#tiny()} in {@code dir}: legacy names, 4 shards, as the real folder. */
    public static void write(Path dir, long seed, TensorType dtype) throws IOException {
        write(dir, QwenTextConfig.tiny(), seed, dtype, Layout.LEGACY, 4);
    }

    /**
     * Seeded weights named in {@code layout} and split over {@code shards} files: embeddings N(0, 1),
     * projections N(0, 0.2) (ten times transformers' initialisation, so that every layer of a tiny
     * model changes the residual stream visibly), norm weights near one and biases N(0, 0.02).
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
        String visual = layout.visual();
        stored.add(visual + "patch_embed.proj.weight", VISION_HIDDEN, 3, 2, 14, 14);
        for (int i = 0; i < VISION_DEPTH; i++) {
            String block = visual + "blocks." + i + ".";
            stored.norm(block + "norm1", VISION_HIDDEN, false).norm(block + "norm2", VISION_HIDDEN, false)
                    .linear(block + "attn.qkv", 3 * VISION_HIDDEN, VISION_HIDDEN, true)
                    .linear(block + "attn.proj", VISION_HIDDEN, VISION_HIDDEN, true);
        }
        stored.norm(visual + "merger.ln_q", VISION_HIDDEN, false)
                .linear(visual + "merger.mlp.0", 4 * VISION_HIDDEN, 4 * VISION_HIDDEN, true)
                .linear(visual + "merger.mlp.2", c.hiddenSize(), 4 * VISION_HIDDEN, true);
        stored.add("lm_head.weight", c.vocabSize(), c.hiddenSize());
        new TinyWeights(seed).fill(stored, name -> name.contains("embed_tokens") ? 1.0 : 0.2)
                .writeSharded(dir, "model", shards, dtype);
    }
}
