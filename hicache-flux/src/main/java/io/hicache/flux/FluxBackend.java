package io.hicache.flux;

import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.BuiltinModels;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.InputShapes;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.pipeline.ModelDefaults;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.ConfigJson;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** The {@code flux} backend: FLUX.1-dev / schnell in the diffusers layout, a BFL file, or {@code builtin:flux-tiny}. */
public final class FluxBackend implements Backend {
    public static final String BUILTIN_TINY = "flux-tiny";
    public static final String BUILTIN_MID = "flux-mid";
    public static final String BUILTIN_SHAPES = "flux-shapes";
    /**
     * The key of {@code model_index.json} under which a model may carry its own sampling defaults
     * ({@code width}, {@code height}, {@code num_inference_steps}, {@code guidance_scale},
     * {@code true_cfg_scale}); diffusers ignores keys that start with an underscore.
     */
    public static final String DEFAULTS_KEY = "_hicache_defaults";
    /** The trained Shapes model's files, shipped in the jar; listed in {@code FILES}. */
    private static final String SHAPES_RESOURCES = "builtin/flux-shapes/";
    private static final long SEED = 20260226L;
    /** Bumped whenever the shipped Shapes weights change, so cached copies are replaced. */
    private static final String SHAPES_VERSION = "3";

    @Override
    public String name() {
        return "flux";
    }

    @Override
    public String description() {
        return "FLUX.1-dev / FLUX.1-schnell (diffusers folder or BFL flux1-dev.safetensors), builtin:flux-tiny, builtin:flux-mid";
    }

    @Override
    public String defaultModel() {
        return "resources/weights/FLUX.1-dev";
    }

    @Override
    public Path schedulerConfig(String model) throws IOException {
        return resolve(model).schedulerConfig();
    }

    @Override
    public void checkModel(PipelineSpec spec) throws IOException {
        FluxPipeline.check(resolve(spec.model()), spec);
    }

    @Override
    public InputShapes inputShapes(String model) throws IOException {
        FluxConfig c = FluxPipeline.transformerConfig(resolve(model));
        return new InputShapes(c.jointAttentionDim(), c.pooledProjectionDim(), c.latentChannels(), 8);
    }

    /**
     * The defaults the model's {@code model_index.json} carries under {@link #DEFAULTS_KEY}, else
     * FLUX.1-dev's sampling (1024², 50 steps, guidance 3.5), or schnell's (4 steps) for a model
     * without guidance embedding.
     */
    @Override
    public ModelDefaults defaults(String model) throws IOException {
        FluxModelFiles files = resolve(model);
        FluxConfig c = FluxPipeline.transformerConfig(files);
        ModelDefaults fallback = c.guidanceEmbeds() ? new ModelDefaults(1024, 1024, 50, 3.5, 1)
                : new ModelDefaults(1024, 1024, 4, 0, 1);
        Path index = files.root().resolve("model_index.json");
        if (!Files.isRegularFile(index)) {
            return fallback;
        }
        ConfigJson json = ConfigJson.read(index);
        if (!json.has(DEFAULTS_KEY)) {
            return fallback;
        }
        ConfigJson d = json.getObject(DEFAULTS_KEY);
        try {
            return new ModelDefaults(d.getInt("width", fallback.width()), d.getInt("height", fallback.height()),
                    d.getInt("num_inference_steps", fallback.steps()), d.getDouble("guidance_scale", fallback.guidance()),
                    d.getDouble("true_cfg_scale", fallback.trueCfgScale()));
        } catch (IllegalArgumentException e) {
            throw new InvalidModelException(index + ": " + DEFAULTS_KEY + ": " + e.getMessage());
        }
    }

    @Override
    public void writeTinyModel(Path dir, long seed, TensorType dtype, boolean sharded) throws IOException {
        SyntheticFluxModels.writeTiny(dir, seed, dtype, sharded);
    }

    @Override
    public ImagePipeline open(PipelineSpec spec) throws IOException {
        return FluxPipeline.load(resolve(spec.model()), spec);
    }

    /** The files of {@code model}: a path, or a built-in model generated on first use. */
    public static FluxModelFiles resolve(String model) throws IOException {
        if (BuiltinModels.isBuiltin(model)) {
            String name = BuiltinModels.name(model);
            BuiltinModels.Writer writer;
            if (name.equals(BUILTIN_TINY)) {
                writer = d -> SyntheticFluxModels.writeTiny(d, SEED, TensorType.F32, false);
            } else if (name.equals(BUILTIN_MID)) {
                writer = d -> SyntheticFluxModels.writeMid(d, SEED, TensorType.F32);
            } else if (name.equals(BUILTIN_SHAPES)) {
                return FluxModelFiles.of(BuiltinModels.materialize(name, SHAPES_VERSION, FluxBackend::copyShapesModel));
            } else {
                throw new IllegalArgumentException("unknown built-in model '" + model + "': the flux backend has builtin:"
                        + BUILTIN_SHAPES + ", builtin:" + BUILTIN_TINY + " and builtin:" + BUILTIN_MID);
            }
            return FluxModelFiles.of(BuiltinModels.materialize(name, SyntheticFluxModels.VERSION, writer));
        }
        return FluxModelFiles.of(Paths.get(model));
    }

    /** Copies the shipped Shapes model out of the jar, file by file as {@code FILES} lists them. */
    private static void copyShapesModel(Path dir) throws IOException {
        String listing;
        try (InputStream in = resource(SHAPES_RESOURCES + "FILES")) {
            listing = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        for (String name : listing.split("\n")) {
            if (name.isBlank()) {
                continue;
            }
            Path target = dir.resolve(name.strip());
            Files.createDirectories(target.getParent());
            try (InputStream in = resource(SHAPES_RESOURCES + name.strip())) {
                Files.copy(in, target);
            }
        }
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = FluxBackend.class.getResourceAsStream(name);
        if (in == null) {
            throw new IOException("the jar lacks the built-in model file " + name + "; rebuild the project");
        }
        return in;
    }
}
