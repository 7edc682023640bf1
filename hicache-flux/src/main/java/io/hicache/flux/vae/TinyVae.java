package io.hicache.flux.vae;

import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import io.hicache.core.weights.TinyWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes a tiny AutoencoderKL ({@code vae/}) in diffusers' layout: the decoder, and on request the encoder. */
public final class TinyVae {
    private TinyVae() {}

    /** {@link VaeConfig#tiny()} in {@code dir}, decoder only. */
    public static void write(Path dir, long seed, TensorType dtype) throws IOException {
        write(dir, VaeConfig.tiny(), seed, dtype);
    }

    /** config.json and {@code diffusion_pytorch_model.safetensors} with the decoder only (text-to-image never encodes). */
    public static void write(Path dir, VaeConfig config, long seed, TensorType dtype) throws IOException {
        write(dir, config, seed, dtype, false);
    }

    /**
     * config.json and {@code diffusion_pytorch_model.safetensors}, with the encoder ({@code encoder.*},
     * {@code quant_conv.*}) too when {@code withEncoder}. The decoder's values come first from the seed,
     * so they are the same with or without the encoder. Kernels are N(0, 1/fan_in) (std 1/√fan_in,
     * PyTorch's default scale), so activations stay of order one through the tiny network and the
     * output reaches the clamp.
     */
    public static void write(Path dir, VaeConfig config, long seed, TensorType dtype, boolean withEncoder)
            throws IOException {
        Files.createDirectories(dir);
        AtomicFiles.writeString(dir.resolve("config.json"), config.toJson());
        ParameterSpec spec = new ParameterSpec().nest("", VaeDecoder.spec(config));
        if (withEncoder) {
            spec.nest("", VaeEncoder.spec(config));
        }
        new TinyWeights(seed).fill(spec, name -> {
            long[] shape = spec.shapes().get(name);
            long fanIn = 1;
            for (int i = 1; i < shape.length; i++) {
                fanIn *= shape[i];
            }
            return 1 / Math.sqrt(fanIn);
        }).write(dir.resolve("diffusion_pytorch_model.safetensors"), dtype);
    }
}
