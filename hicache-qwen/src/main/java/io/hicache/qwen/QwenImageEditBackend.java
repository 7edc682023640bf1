package io.hicache.qwen;

import io.hicache.core.image.RgbImage;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.BuiltinModels;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.InputShapes;
import io.hicache.core.pipeline.InvalidSettingException;
import io.hicache.core.pipeline.ModelDefaults;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.qwen.transformer.QwenImageConfig;
import io.hicache.qwen.vision.EditSizes;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The {@code qwen-image-edit} backend: Qwen/Qwen-Image-Edit in its repository layout, or
 * {@code builtin:qwen-image-edit-tiny}. Every request takes one condition image; the output size
 * follows it ({@link #defaults(String, List)}). Its one setting, {@value #EDIT_AREA}, is the pixel
 * area the condition image is resized to (diffusers' 1024²).
 */
public final class QwenImageEditBackend implements Backend {
    public static final String NAME = "qwen-image-edit";
    public static final String BUILTIN_TINY = "qwen-image-edit-tiny";
    /** Where the model is when no --model-path is given. */
    public static final String MODEL_PATH_ENV = "QWEN_IMAGE_EDIT_MODEL_PATH";
    /** The setting of the condition image's area in pixels. */
    public static final String EDIT_AREA = "edit_area";
    /** diffusers' {@code calculate_dimensions(1024 * 1024, ...)}. */
    public static final long DEFAULT_EDIT_AREA = EditSizes.EDIT_AREA;
    /** Smallest area: 32 × 32, one multiple of 32 on each side. */
    public static final long MIN_EDIT_AREA = 32L * 32;
    /** Largest area: 8192², 64 times the default's tokens. */
    public static final long MAX_EDIT_AREA = 8192L * 8192;
    private static final long SEED = 20260813L;
    private static final int LATENT_SCALE = 8;

    private final long editArea;

    public QwenImageEditBackend() {
        this(DEFAULT_EDIT_AREA);
    }

    private QwenImageEditBackend(long editArea) {
        this.editArea = editArea;
    }

    /** The condition image's area in pixels. */
    public long editArea() {
        return editArea;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "Qwen-Image-Edit (the Qwen/Qwen-Image-Edit folder, default $" + MODEL_PATH_ENV + "), builtin:"
                + BUILTIN_TINY + "; takes a condition image";
    }

    /** {@code $QWEN_IMAGE_EDIT_MODEL_PATH} when set, else the built-in tiny model. */
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
        QwenImageEditPipelines.check(resolve(spec.model()), spec);
    }

    @Override
    public InputShapes inputShapes(String model) throws IOException {
        QwenImageConfig c = QwenImagePipelines.transformerConfig(resolve(model));
        return new InputShapes(c.jointAttentionDim(), 0, c.latentChannels(), LATENT_SCALE);
    }

    /** The Edit pipeline's: 50 steps, true CFG 4.0 (with the negative prompt " "), the size of a square input. */
    @Override
    public ModelDefaults defaults(String model) {
        EditSizes.Size square = QwenImageEditPipelines.conditionSize(1, 1, editArea);
        return defaults(square);
    }

    /** The output size follows the one condition image: its resized size floored to multiples of 16. */
    @Override
    public ModelDefaults defaults(String model, List<RgbImage> conditionImages) {
        if (conditionImages.size() != 1) {
            throw new IllegalArgumentException("Qwen-Image-Edit takes one condition image, got "
                    + conditionImages.size());
        }
        RgbImage image = conditionImages.get(0);
        return defaults(QwenImageEditPipelines.conditionSize(image.width(), image.height(), editArea));
    }

    private static ModelDefaults defaults(EditSizes.Size condition) {
        EditSizes.Size out = EditSizes.defaultOutputSize(condition);
        return new ModelDefaults(out.width(), out.height(), 50, 0, 4.0);
    }

    @Override
    public int conditionImages() {
        return 1;
    }

    /** {@value #EDIT_AREA}: a whole number of pixels in [{@value #MIN_EDIT_AREA}, 8192²]. */
    @Override
    public Backend configure(Map<String, String> settings, Consumer<String> ignored) {
        long area = editArea;
        for (Map.Entry<String, String> e : settings.entrySet()) {
            if (!e.getKey().equals(EDIT_AREA)) {
                throw new InvalidSettingException(e.getKey(), "the " + NAME + " backend has no setting " + e.getKey()
                        + " (its one setting is " + EDIT_AREA + ")");
            }
            area = parseArea(e.getValue());
        }
        return new QwenImageEditBackend(area);
    }

    private static long parseArea(String text) {
        long area;
        try {
            area = Long.parseLong(text.strip());
        } catch (NumberFormatException e) {
            throw new InvalidSettingException(EDIT_AREA, "the edit area must be a whole number of pixels, got '" + text
                    + "'");
        }
        if (area < MIN_EDIT_AREA || area > MAX_EDIT_AREA) {
            throw new InvalidSettingException(EDIT_AREA, "the edit area must be " + MIN_EDIT_AREA + " (32x32) to "
                    + MAX_EDIT_AREA + " (8192x8192) pixels, got " + area);
        }
        return area;
    }

    @Override
    public Map<String, String> settings() {
        return Map.of(EDIT_AREA, Long.toString(editArea));
    }

    @Override
    public void writeTinyModel(Path dir, long seed, TensorType dtype, boolean sharded) throws IOException {
        SyntheticQwenModels.writeTinyEdit(dir, seed, dtype, sharded);
    }

    @Override
    public ImagePipeline open(PipelineSpec spec) throws IOException {
        return QwenImageEditPipelines.load(resolve(spec.model()), spec, editArea);
    }

    /** The files of {@code model}: a path, or the built-in tiny model generated on first use. */
    public static QwenModelFiles resolve(String model) throws IOException {
        if (BuiltinModels.isBuiltin(model)) {
            String name = BuiltinModels.name(model);
            if (!name.equals(BUILTIN_TINY)) {
                throw new IllegalArgumentException("unknown built-in model '" + model + "': the " + NAME
                        + " backend has builtin:" + BUILTIN_TINY);
            }
            return QwenModelFiles.of(BuiltinModels.materialize(name, SyntheticQwenModels.EDIT_VERSION,
                    d -> SyntheticQwenModels.writeTinyEdit(d, SEED, TensorType.F32, true)));
        }
        return QwenModelFiles.of(Paths.get(model));
    }
}
