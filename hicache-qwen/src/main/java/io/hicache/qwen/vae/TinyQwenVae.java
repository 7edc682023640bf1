package io.hicache.qwen.vae;

import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import io.hicache.core.weights.TinyWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes a small Qwen-Image VAE with seeded random weights in the real layout: {@code config.json}
 * and {@code diffusion_pytorch_model.safetensors} with every tensor the real file has (encoder and
 * {@code time_conv} included, 3-D kernels as stored). Convolutions ~N(0, 1/(in·k·k)) so activations
 * stay O(1), norm gammas 1 + N(0, 0.1), biases N(0, 0.02).
 */
public final class TinyQwenVae {
    public static final String WEIGHTS_FILE = "diffusion_pytorch_model.safetensors";

    private TinyQwenVae() {}

    /** base_dim 8 (decoder widths 32, 32, 32, 16, 8), z_dim 16, one residual block per level, the real latent statistics. */
    public static QwenVaeConfig config() {
        QwenVaeConfig real = QwenVaeConfig.qwenImage();
        return new QwenVaeConfig(8, 16, new int[] {1, 2, 4, 4}, 1, new boolean[] {false, true, true},
                real.latentsMean(), real.latentsStd());
    }

    /** Writes {@code config.json} and the weights into {@code vaeDir}. */
    public static void write(Path vaeDir, QwenVaeConfig config, long seed, TensorType dtype) throws IOException {
        Files.createDirectories(vaeDir);
        AtomicFiles.writeString(vaeDir.resolve("config.json"), config.toJson());
        TinyWeights t = new TinyWeights(seed);
        QwenVaeLayout.stored(config).shapes().forEach((name, shape) -> {
            if (name.endsWith(".gamma")) {
                t.normal(name, 1, 0.1, shape);
            } else if (name.endsWith(".bias")) {
                t.normal(name, 0, 0.02, shape);
            } else {
                long spatial = shape[shape.length - 1] * shape[shape.length - 2];
                t.normal(name, 0, 1 / Math.sqrt(shape[1] * spatial), shape);
            }
        });
        t.write(vaeDir.resolve(WEIGHTS_FILE), dtype);
    }
}
