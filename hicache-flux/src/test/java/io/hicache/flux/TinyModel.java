package io.hicache.flux;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.sampling.SeededNoise;
import java.io.IOException;
import java.nio.file.Path;

/** A tiny FLUX model written to disk and loaded through the real loaders, plus seeded inputs. */
final class TinyModel implements AutoCloseable {
    static final int WIDTH = 128;
    static final int HEIGHT = 128;
    static final int TEXT_TOKENS = 8;
    /** 128×128 → 16×16 latent → 8×8 packed tokens. */
    static final int IMAGE_TOKENS = 64;

    final NDManager manager = NDManager.newBaseManager();
    final FluxTransformer transformer;
    final FlowMatchEuler scheduler;
    final FluxDenoiser denoiser;

    TinyModel(Path modelDir, TensorType dtype) throws IOException {
        this(modelDir, modelDir, dtype);
    }

    /** The transformer from {@code weights} (a model directory or a BFL file), the scheduler from {@code modelDir}. */
    TinyModel(Path weights, Path modelDir, TensorType dtype) throws IOException {
        transformer = FluxTransformer.load(weights, dtype, manager);
        scheduler = FlowMatchEuler.read(modelDir.resolve("scheduler").resolve("scheduler_config.json"));
        denoiser = new FluxDenoiser(transformer, scheduler);
    }

    /** Writes the tiny FLUX model (seed 1, float32 weights) to {@code dir}. */
    static Path write(Path dir) throws IOException {
        TinyFlux.write(dir, TinyFlux.config(), 1, TensorType.F32, false);
        return dir;
    }

    NDArray promptEmbeds() {
        return SeededNoise.gaussian(11, new Shape(1, TEXT_TOKENS, 32), manager);
    }

    NDArray pooled() {
        return SeededNoise.gaussian(12, new Shape(1, 16), manager);
    }

    NDArray noise() {
        return SeededNoise.gaussian(13, new Shape(1, 16, HEIGHT / 8, WIDTH / 8), manager);
    }

    FluxDenoiser.Request request(int steps, CacheConfig cache) {
        return new FluxDenoiser.Request(promptEmbeds(), pooled(), noise(), WIDTH, HEIGHT, steps, 3.5, cache);
    }

    FluxDenoiser.Result run(int steps, CacheConfig cache) {
        return denoiser.denoise(request(steps, cache), manager);
    }

    @Override
    public void close() {
        transformer.close();
        manager.close();
    }
}
