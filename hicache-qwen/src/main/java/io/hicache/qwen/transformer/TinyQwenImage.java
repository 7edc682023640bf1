package io.hicache.qwen.transformer;

import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import io.hicache.core.weights.TinyWeights;
import io.hicache.qwen.vae.TinyQwenVae;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes a small Qwen-Image model with seeded random weights in the real repository layout, loadable
 * by the real loaders: {@code model_index.json}, {@code transformer/} (config.json,
 * {@code diffusion_pytorch_model-0000k-of-0000n.safetensors} shards and their index),
 * {@code scheduler/scheduler_config.json} with Qwen-Image's values and {@code vae/} (see
 * {@link TinyQwenVae}). The text encoder and tokenizer are written by the text package.
 *
 * <p>Scales keep activations O(1) over many steps: projections ~N(0, 1/fan_in), modulation linears
 * ~N(0, 0.04/fan_in) with biases N(0, 0.1) (shift, scale and gate near 0.2), norm weights 1 + N(0, 0.1)
 * so that a weight left unapplied shows.
 */
public final class TinyQwenImage {
    /** {@code scheduler/scheduler_config.json} of Qwen-Image. */
    public static final String SCHEDULER_CONFIG = "{\n"
            + "  \"_class_name\": \"FlowMatchEulerDiscreteScheduler\",\n"
            + "  \"_diffusers_version\": \"0.34.0.dev0\",\n"
            + "  \"base_image_seq_len\": 256,\n"
            + "  \"base_shift\": 0.5,\n"
            + "  \"invert_sigmas\": false,\n"
            + "  \"max_image_seq_len\": 8192,\n"
            + "  \"max_shift\": 0.9,\n"
            + "  \"num_train_timesteps\": 1000,\n"
            + "  \"shift\": 1.0,\n"
            + "  \"shift_terminal\": 0.02,\n"
            + "  \"stochastic_sampling\": false,\n"
            + "  \"time_shift_type\": \"exponential\",\n"
            + "  \"use_beta_sigmas\": false,\n"
            + "  \"use_dynamic_shifting\": true,\n"
            + "  \"use_exponential_sigmas\": false,\n"
            + "  \"use_karras_sigmas\": false\n"
            + "}\n";

    /** {@code model_index.json} of Qwen-Image (the pipeline's component map). */
    public static final String MODEL_INDEX = "{\n"
            + "  \"_class_name\": \"QwenImagePipeline\",\n"
            + "  \"_diffusers_version\": \"0.34.0.dev0\",\n"
            + "  \"scheduler\": [\"diffusers\", \"FlowMatchEulerDiscreteScheduler\"],\n"
            + "  \"text_encoder\": [\"transformers\", \"Qwen2_5_VLForConditionalGeneration\"],\n"
            + "  \"tokenizer\": [\"transformers\", \"Qwen2Tokenizer\"],\n"
            + "  \"transformer\": [\"diffusers\", \"QwenImageTransformer2DModel\"],\n"
            + "  \"vae\": [\"diffusers\", \"AutoencoderKLQwenImage\"]\n"
            + "}\n";

    /** The real transformer's weight files: 9 shards. */
    public static final int REAL_SHARDS = 9;
    public static final String WEIGHTS_STEM = "diffusion_pytorch_model";

    private TinyQwenImage() {}

    /**
     * The tiny architecture: 2 blocks, 2 heads × 16 (hidden 32), RoPE axes (4, 6, 6), text width 24,
     * 64 packed channels in, 16 latent channels out.
     */
    public static QwenImageConfig config() {
        return new QwenImageConfig(64, 16, 2, 16, 2, 24, new int[] {4, 6, 6});
    }

    /**
     * Writes {@code model_index.json}, {@code transformer/} ({@code config}, weights in {@code dtype}
     * over {@code shards} shards + index), {@code scheduler/} and {@code vae/} (the tiny VAE) under
     * {@code modelDir}.
     */
    public static void write(Path modelDir, QwenImageConfig config, long seed, TensorType dtype, int shards)
            throws IOException {
        Files.createDirectories(modelDir);
        AtomicFiles.writeString(modelDir.resolve("model_index.json"), MODEL_INDEX);
        writeTransformer(modelDir.resolve("transformer"), config, seed, dtype, shards);
        Files.createDirectories(modelDir.resolve("scheduler"));
        AtomicFiles.writeString(modelDir.resolve("scheduler").resolve("scheduler_config.json"), SCHEDULER_CONFIG);
        TinyQwenVae.write(modelDir.resolve("vae"), TinyQwenVae.config(), seed + 1, dtype);
    }

    /** The tiny model of {@link #config()} in float32 over the real 9 shards. */
    public static void write(Path modelDir, long seed) throws IOException {
        write(modelDir, config(), seed, TensorType.F32, REAL_SHARDS);
    }

    /** Writes {@code config.json} and seeded weights over {@code shards} shards plus the index. */
    public static void writeTransformer(Path dir, QwenImageConfig config, long seed, TensorType dtype, int shards)
            throws IOException {
        Files.createDirectories(dir);
        AtomicFiles.writeString(dir.resolve("config.json"), config.toJson());
        TinyWeights t = new TinyWeights(seed);
        QwenImageTransformer.parameterSpec(config).shapes().forEach((name, shape) -> {
            boolean modulation = name.contains("_mod.1.") || name.startsWith("norm_out.linear");
            if (shape.length == 1 && name.endsWith(".weight")) {
                t.normal(name, 1, 0.1, shape); // RMSNorm weights
            } else if (name.endsWith(".bias")) {
                t.normal(name, 0, modulation ? 0.1 : 0.02, shape);
            } else {
                t.normal(name, 0, (modulation ? 0.2 : 1.0) / Math.sqrt(shape[1]), shape);
            }
        });
        t.writeSharded(dir, WEIGHTS_STEM, shards, dtype);
    }
}
