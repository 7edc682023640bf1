package io.hicache.qwen.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.sampling.SeededNoise;
import java.io.IOException;
import java.nio.file.Path;

/** The tiny Qwen-Image written in the real layout and loaded through the real loaders, plus seeded inputs. */
final class TinyQwen implements AutoCloseable {
    /** 112 × 144 pixels → 14 × 18 latent → 7 × 9 packed tokens: odd sides, not square. */
    static final int WIDTH = 144;
    static final int HEIGHT = 112;
    static final int ROWS = 7;
    static final int COLS = 9;
    static final int IMAGE_TOKENS = ROWS * COLS;
    static final int TEXT_TOKENS = 7;
    static final int NEGATIVE_TOKENS = 3;
    static final int TEXT_DIM = 24;

    final NDManager manager = NDManager.newBaseManager();
    final QwenImageTransformer transformer;
    final FlowMatchEuler scheduler;
    final QwenImageDenoiser denoiser;

    TinyQwen(Path modelDir, TensorType dtype) throws IOException {
        transformer = QwenImageTransformer.load(modelDir, dtype, manager);
        scheduler = FlowMatchEuler.read(modelDir.resolve("scheduler").resolve("scheduler_config.json"));
        denoiser = new QwenImageDenoiser(transformer, scheduler);
    }

    /** Writes the tiny model (seed 1, float32, 9 shards) to {@code dir}. */
    static Path write(Path dir) throws IOException {
        TinyQwenImage.write(dir, 1);
        return dir;
    }

    NDArray promptEmbeds() {
        return SeededNoise.gaussian(11, new Shape(1, TEXT_TOKENS, TEXT_DIM), manager);
    }

    NDArray negativeEmbeds() {
        return SeededNoise.gaussian(21, new Shape(1, NEGATIVE_TOKENS, TEXT_DIM), manager);
    }

    NDArray noise() {
        return SeededNoise.gaussian(13, new Shape(1, 16, HEIGHT / 8, WIDTH / 8), manager);
    }

    QwenImageDenoiser.Result run(int steps, CacheConfig cache, boolean cfg, double scale) {
        QwenImageDenoiser.Request r = new QwenImageDenoiser.Request(new QwenImageDenoiser.Prompt(promptEmbeds()),
                noise(), WIDTH, HEIGHT, steps, cache, false,
                cfg ? new QwenImageDenoiser.Prompt(negativeEmbeds()) : null, scale);
        return denoiser.denoise(r, manager);
    }

    @Override
    public void close() {
        transformer.close();
        manager.close();
    }
}
