package io.hicache.chipmunk;

import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.InputShapes;
import io.hicache.core.pipeline.ModelDefaults;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.flux.FluxBackend;
import io.hicache.flux.FluxPipeline;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The {@code chipmunk} backend: FLUX.1 (the same folders, files and built-ins as {@code flux})
 * with Chipmunk's sparse-delta attention and MLP in its blocks (docs/chipmunk.md). Its settings
 * are Chipmunk's, in Chipmunk's YAML naming ({@link ChipmunkConfig}).
 */
public final class ChipmunkBackend implements Backend {
    private final FluxBackend flux = new FluxBackend();
    private final ChipmunkConfig config;

    /** Chipmunk's FLUX defaults (how {@link java.util.ServiceLoader} makes it). */
    public ChipmunkBackend() {
        this(ChipmunkConfig.defaults());
    }

    public ChipmunkBackend(ChipmunkConfig config) {
        this.config = config;
    }

    public ChipmunkConfig config() {
        return config;
    }

    @Override
    public String name() {
        return "chipmunk";
    }

    @Override
    public String description() {
        return "FLUX.1 with Chipmunk's sparse-delta attention and MLP (the flux backend's models)";
    }

    @Override
    public String defaultModel() {
        return flux.defaultModel();
    }

    @Override
    public Backend configure(Map<String, String> settings, Consumer<String> ignored) {
        return new ChipmunkBackend(config.with(settings, ignored));
    }

    @Override
    public Map<String, String> settings() {
        return config.asSettings();
    }

    @Override
    public Path schedulerConfig(String model) throws IOException {
        return flux.schedulerConfig(model);
    }

    /** Patchify tiles the token grid (H/16 × W/16) in chunk_size_1 squares. */
    @Override
    public void checkSize(int width, int height) {
        if (config.patchifyEnabled()) {
            Selection.patchifyOrder(height / 16, width / 16, config.patchifyChunkSize1(), config.patchifyChunkSize2());
        }
    }

    @Override
    public void checkModel(PipelineSpec spec) throws IOException {
        flux.checkModel(spec);
    }

    @Override
    public InputShapes inputShapes(String model) throws IOException {
        return flux.inputShapes(model);
    }

    @Override
    public ModelDefaults defaults(String model) throws IOException {
        return flux.defaults(model);
    }

    @Override
    public void writeTinyModel(Path dir, long seed, TensorType dtype, boolean sharded) throws IOException {
        flux.writeTinyModel(dir, seed, dtype, sharded);
    }

    @Override
    public ImagePipeline open(PipelineSpec spec) throws IOException {
        return FluxPipeline.load(FluxBackend.resolve(spec.model()), spec, () -> new ChipmunkKernels(config));
    }
}
