package io.hicache.qwen;

import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import io.hicache.qwen.text.QwenTextConfig;
import io.hicache.qwen.text.QwenTextEncoder;
import io.hicache.qwen.text.TinyQwenTextEncoder;
import io.hicache.qwen.text.TinyQwenTokenizer;
import io.hicache.qwen.transformer.QwenImageConfig;
import io.hicache.qwen.transformer.TinyQwenImage;
import io.hicache.qwen.vision.VisionPreprocessorConfig;
import java.io.IOException;
import java.nio.file.Path;

/** Complete tiny Qwen-Image models in the real repository layout, for {@code builtin:qwen-image-tiny} and {@code init-tiny}. */
public final class SyntheticQwenModels {
    /** Bump when the generated files change, so cached built-in models are written again. */
    public static final String VERSION = "1";
    /** The same for {@code builtin:qwen-image-edit-tiny}. */
    public static final String EDIT_VERSION = "1";
    /**
     * {@code model_index.json} of Qwen-Image-Edit: Qwen-Image's components plus the
     * Qwen2VLProcessor in {@code processor/}.
     */
    public static final String EDIT_MODEL_INDEX = "{\n"
            + "  \"_class_name\": \"QwenImageEditPipeline\",\n"
            + "  \"_diffusers_version\": \"0.35.0.dev0\",\n"
            + "  \"processor\": [\"transformers\", \"Qwen2VLProcessor\"],\n"
            + "  \"scheduler\": [\"diffusers\", \"FlowMatchEulerDiscreteScheduler\"],\n"
            + "  \"text_encoder\": [\"transformers\", \"Qwen2_5_VLForConditionalGeneration\"],\n"
            + "  \"tokenizer\": [\"transformers\", \"Qwen2Tokenizer\"],\n"
            + "  \"transformer\": [\"diffusers\", \"QwenImageTransformer2DModel\"],\n"
            + "  \"vae\": [\"diffusers\", \"AutoencoderKLQwenImage\"]\n"
            + "}\n";
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

    /**
     * A tiny Qwen-Image-Edit model in the layout of {@code Qwen/Qwen-Image-Edit}: the files of
     * {@link #writeTiny(Path, long, TensorType, boolean)} (whose text encoder holds a complete tiny
     * vision tower), the Edit pipeline's {@code model_index.json}, and {@code processor/} with the
     * preprocessor config Qwen2.5-VL ships and the tokenizer files (as the real folder has them).
     */
    public static void writeTinyEdit(Path dir, long seed, TensorType dtype, boolean sharded) throws IOException {
        writeTiny(dir, seed, dtype, sharded);
        AtomicFiles.writeString(dir.resolve("model_index.json"), EDIT_MODEL_INDEX);
        VisionPreprocessorConfig.qwenImageEdit().write(dir.resolve("processor"));
        TinyQwenTokenizer.write(dir.resolve("processor"));
    }
}
