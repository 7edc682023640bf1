package io.hicache.core.pipeline;

import io.hicache.core.image.RgbImage;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.function.Consumer;

/**
 * A model family the launcher can run ({@code flux}, {@code qwen-image}, ...), found through
 * {@link ServiceLoader}: a backend module lists its implementation in
 * {@code META-INF/services/io.hicache.core.pipeline.Backend}.
 */
public interface Backend {
    /** The name users select with {@code --backend}. */
    String name();

    /** One line for help texts. */
    String description();

    /** The model used when the user names none (a built-in tiny model or a conventional path). */
    String defaultModel();

    /**
     * Checks, without reading tensor data, everything about {@code spec} that can be known before
     * loading: the files exist, every config is valid and matches its checkpoint's tensor names and
     * shapes (headers only), tokenizers and scheduler settings are usable, the device exists. A
     * model that passes fails to load only for reasons outside its files (memory, the device). The
     * message names the file and the problem, or what is missing and how to get it.
     *
     * @throws InvalidModelException when a model file is wrong
     * @throws IOException when something required is missing or unreadable
     * @throws IllegalArgumentException when the device or spec cannot be used
     */
    void checkModel(PipelineSpec spec) throws IOException;

    /**
     * The sizes {@code model}'s precomputed embeddings and initial noise must have, read from its
     * configuration files without loading weights, so that such inputs are checked before a load.
     *
     * @throws IOException when the configuration cannot be read
     */
    InputShapes inputShapes(String model) throws IOException;

    /**
     * The sampling defaults of {@code model} (read from its configuration files where they differ
     * between models of this family, without loading weights).
     *
     * @throws IOException when the configuration cannot be read
     */
    ModelDefaults defaults(String model) throws IOException;

    /**
     * How many condition images every request of this backend takes
     * ({@link GenerationRequest#images()}): 0 for a text-to-image backend, which refuses requests
     * with images.
     */
    default int conditionImages() {
        return 0;
    }

    /**
     * The sampling defaults of {@code model} for a request with {@code conditionImages} (as many as
     * {@link #conditionImages()}), for backends whose native size follows the input image; without
     * condition images, {@link #defaults(String)}.
     *
     * @throws IOException when the configuration cannot be read
     * @throws IllegalArgumentException naming the image and the rule, for an image the backend cannot use
     */
    default ModelDefaults defaults(String model, List<RgbImage> conditionImages) throws IOException {
        return defaults(model);
    }

    /**
     * Writes a tiny model of this backend's architecture, with seeded random weights, in the
     * backend's real on-disk layout (for tests, demos and {@code hicache init-tiny}).
     */
    void writeTinyModel(Path dir, long seed, TensorType dtype, boolean sharded) throws IOException;

    /** Loads the components {@code spec} asks for. */
    ImagePipeline open(PipelineSpec spec) throws IOException;

    /**
     * This backend with backend-specific settings applied over its defaults (key → value as text,
     * in the backend's own naming, e.g. Chipmunk's {@code attn.top_keys}); a backend without
     * settings accepts none. This backend is left as it was.
     *
     * @param ignored receives each key the backend recognises as not used by it
     * @throws InvalidSettingException naming the key, for a malformed or out-of-range value
     */
    default Backend configure(Map<String, String> settings, Consumer<String> ignored) {
        if (!settings.isEmpty()) {
            String key = settings.keySet().iterator().next();
            throw new InvalidSettingException(key, "the " + name() + " backend has no setting " + key);
        }
        return this;
    }

    /** The backend-specific settings in effect, every one resolved (for run records); empty for none. */
    default Map<String, String> settings() {
        return Map.of();
    }

    /**
     * Checks, before anything loads, that this backend can make images of {@code width} ×
     * {@code height} pixels (already positive multiples of 16).
     *
     * @throws IllegalArgumentException naming the size and the rule
     */
    default void checkSize(int width, int height) {
    }

    /**
     * The {@code scheduler_config.json} of {@code model}, read by checks made before anything loads;
     * null for a backend whose models carry none.
     */
    default Path schedulerConfig(String model) throws IOException {
        return null;
    }

    /**
     * Checks, before anything loads and reading only {@link #schedulerConfig}, that {@code model}'s
     * flow-match scheduler can sample in {@code steps} steps (one with {@code shift_terminal} needs two).
     *
     * @throws IllegalArgumentException naming the rule
     * @throws IOException when the configuration cannot be read
     */
    default void checkSteps(String model, int steps) throws IOException {
        Path config = schedulerConfig(model);
        if (config != null) {
            FlowMatchEuler.read(config).checkSteps(steps);
        }
    }

    /** All backends on the class path, in discovery order. */
    static List<Backend> available() {
        List<Backend> out = new ArrayList<>();
        ServiceLoader.load(Backend.class).forEach(out::add);
        return out;
    }

    /** The backend named {@code name} (case-insensitive). */
    static Backend named(String name) {
        List<Backend> all = available();
        for (Backend b : all) {
            if (b.name().equalsIgnoreCase(name.trim())) {
                return b;
            }
        }
        List<String> names = new ArrayList<>();
        all.forEach(b -> names.add(b.name()));
        throw new IllegalArgumentException("unknown backend '" + name + "'"
                + (names.isEmpty() ? ": none is installed" : ": available are " + String.join(", ", names)));
    }
}
