package io.hicache.qwen;

import io.hicache.core.runtime.TensorType;
import io.hicache.qwen.text.QwenTextConfig;
import io.hicache.qwen.text.QwenTextEncoder;
import io.hicache.qwen.text.TinyQwenTextEncoder;
import io.hicache.qwen.text.TinyQwenTokenizer;
import io.hicache.qwen.transformer.QwenImageConfig;
import io.hicache.qwen.transformer.TinyQwenImage;
import java.io.IOException;
import java.nio.file.Path;

/** Complete tiny Qwen-Image models in the real repository layout, for {@code builtin:qwen-image-tiny} and {@code init-tiny}. */
public final class SyntheticQwenModels {
    /** Bump when the generated files change, so cached built-in models are written again. */
    public static final String VERSION = "1";
    /** The real repository's shard counts: 9 transformer files, 4 text encoder files. */
    public static final int TRANSFORMER_SHARDS = TinyQwenImage.REAL_SHARDS;
    public static final int TEXT_ENCODER_SHARDS = 4;

    private SyntheticQwenModels() {}

    /** The tiny transformer of {@link TinyQwenImage#config()} taking the tiny text encoder's width. */
    public static QwenImageConfig tinyTransformer() {
        QwenImageConfig t = TinyQwenImage.config();
        return new QwenImageConfig(t.inChannels(), t.outChannels(), t.numLayers(), t.attentionHeadDim(),
                t.numAttentionHeads(), QwenTextConfig.tiny().hiddenSize(), t.axesDimsRope());
    }

    /**
     * Writes every component: model_index.json, scheduler/, transformer/, text_encoder/ (legacy
     * names, as the real files), tokenizer/ (vocab + merges + added tokens, no tokenizer.json) and
     * vae/; {@code sharded} splits the transformer and text encoder over the real shard counts.
     */
    public static void writeTiny(Path dir, long seed, TensorType dtype, boolean sharded) throws IOException {
        writeTiny(dir, seed, dtype, sharded, QwenTextEncoder.Layout.LEGACY);
    }

    /** {@link #writeTiny(Path, long, TensorType, boolean)} with the text encoder's names in {@code layout}. */
    public static void writeTiny(Path dir, long seed, TensorType dtype, boolean sharded, QwenTextEncoder.Layout layout)
            throws IOException {
        TinyQwenImage.write(dir, tinyTransformer(), seed, dtype, sharded ? TRANSFORMER_SHARDS : 1);
        TinyQwenTextEncoder.write(dir.resolve("text_encoder"), QwenTextConfig.tiny(), seed + 2, dtype, layout,
                sharded ? TEXT_ENCODER_SHARDS : 1);
        TinyQwenTokenizer.write(dir.resolve("tokenizer"));
    }
}
