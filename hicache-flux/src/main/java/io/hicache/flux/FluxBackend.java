package io.hicache.flux;

import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.BuiltinModels;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.InputShapes;
import io.hicache.core.pipeline.ModelDefaults;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.runtime.TensorType;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;

/** The {@code flux} backend: FLUX.1-dev / schnell in the diffusers layout, a BFL file, or {@code builtin:flux-tiny}. */
public final class FluxBackend implements Backend {
    public static final String BUILTIN_TINY = "flux-tiny";
    public static final String BUILTIN_MID = "flux-mid";
    private static final long SEED = 20260226L;

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
    public void checkModel(PipelineSpec spec) throws IOException {
        FluxPipeline.check(resolve(spec.model()), spec);
    }

    @Override
    public InputShapes inputShapes(String model) throws IOException {
        FluxConfig c = FluxPipeline.transformerConfig(resolve(model));
        return new InputShapes(c.jointAttentionDim(), c.pooledProjectionDim(), c.latentChannels(), 8);
    }

    /** FLUX.1-dev's sampling (1024², 50 steps, guidance 3.5), or schnell's (4 steps) for a model without guidance embedding. */
    @Override
    public ModelDefaults defaults(String model) throws IOException {
        FluxConfig c = FluxPipeline.transformerConfig(resolve(model));
        return c.guidanceEmbeds() ? new ModelDefaults(1024, 1024, 50, 3.5, 1) : new ModelDefaults(1024, 1024, 4, 0, 1);
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
            } else {
                throw new IllegalArgumentException("unknown built-in model '" + model + "': the flux backend has builtin:"
                        + BUILTIN_TINY + " and builtin:" + BUILTIN_MID);
            }
            return FluxModelFiles.of(BuiltinModels.materialize(name, SyntheticFluxModels.VERSION, writer));
        }
        return FluxModelFiles.of(Paths.get(model));
    }
}
