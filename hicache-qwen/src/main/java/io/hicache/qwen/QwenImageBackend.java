package io.hicache.qwen;

import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.BuiltinModels;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.InputShapes;
import io.hicache.core.pipeline.ModelDefaults;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.qwen.transformer.QwenImageConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;

/** The {@code qwen-image} backend: Qwen/Qwen-Image in its repository layout, or {@code builtin:qwen-image-tiny}. */
public final class QwenImageBackend implements Backend {
    public static final String NAME = "qwen-image";
    public static final String BUILTIN_TINY = "qwen-image-tiny";
    /** Where the model is when no --model-path is given. */
    public static final String MODEL_PATH_ENV = "QWEN_IMAGE_MODEL_PATH";
    private static final long SEED = 20260812L;
    /** The 8× VAE: pixels per latent position. */
    private static final int LATENT_SCALE = 8;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "Qwen-Image (the Qwen/Qwen-Image folder, default $" + MODEL_PATH_ENV + "), builtin:" + BUILTIN_TINY;
    }

    /** {@code $QWEN_IMAGE_MODEL_PATH} when set, else the built-in tiny model. */
    @Override
    public String defaultModel() {
        String path = System.getenv(MODEL_PATH_ENV);
        return path != null && !path.isBlank() ? path : BuiltinModels.PREFIX + BUILTIN_TINY;
    }

    @Override
    public Path schedulerConfig(String model) throws IOException {
        return resolve(model).schedulerConfig();
    }

    @Override
    public void checkModel(PipelineSpec spec) throws IOException {
        QwenImagePipelines.check(resolve(spec.model()), spec);
    }

    /** Text embeddings as wide as the transformer's joint_attention_dim (the text encoder's hidden size), no pooled vector. */
    @Override
    public InputShapes inputShapes(String model) throws IOException {
        QwenImageConfig c = QwenImagePipelines.transformerConfig(resolve(model));
        return new InputShapes(c.jointAttentionDim(), 0, c.latentChannels(), LATENT_SCALE);
    }

    /** The model card's: 1328² (1:1), 50 steps, true CFG 4.0; no embedded guidance. */
    @Override
    public ModelDefaults defaults(String model) {
        return new ModelDefaults(1328, 1328, 50, 0, 4.0);
    }

    @Override
    public void writeTinyModel(Path dir, long seed, TensorType dtype, boolean sharded) throws IOException {
        SyntheticQwenModels.writeTiny(dir, seed, dtype, sharded);
    }

    @Override
    public ImagePipeline open(PipelineSpec spec) throws IOException {
        return QwenImagePipelines.load(resolve(spec.model()), spec);
    }

    /** The files of {@code model}: a path, or the built-in tiny model generated on first use (in the real shard layout). */
    public static QwenModelFiles resolve(String model) throws IOException {
        if (BuiltinModels.isBuiltin(model)) {
            String name = BuiltinModels.name(model);
            if (!name.equals(BUILTIN_TINY)) {
                throw new IllegalArgumentException("unknown built-in model '" + model + "': the " + NAME
                        + " backend has builtin:" + BUILTIN_TINY);
            }
            return QwenModelFiles.of(BuiltinModels.materialize(name, SyntheticQwenModels.VERSION,
                    d -> SyntheticQwenModels.writeTiny(d, SEED, TensorType.F32, true)));
        }
        return QwenModelFiles.of(Paths.get(model));
    }
}
