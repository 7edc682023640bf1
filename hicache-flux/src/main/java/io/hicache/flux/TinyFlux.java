package io.hicache.flux;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import io.hicache.core.weights.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Writes small FLUX models with seeded random weights in the real on-disk layouts, loadable by the
 * real loaders: a diffusers model directory ({@code model_index.json}, {@code transformer/} with
 * config and single-file or sharded safetensors, {@code scheduler/scheduler_config.json} with the
 * FLUX.1-dev values) and the same weights as a BFL single-file checkpoint. Text encoders and the VAE
 * are written by their own packages; {@link #write} covers the transformer and scheduler parts.
 *
 * <p>Weights are drawn on the host from one {@link Random} stream in parameter order, so a seed gives
 * the same model everywhere. Scales keep activations O(1) over many denoising steps: projections
 * ~N(0, 1/fan_in), modulation linears ~N(0, 0.04/fan_in) with small biases (so shift, scale and gate
 * stay near 0.2), QK-norm weights near 1.
 */
public final class TinyFlux {
    /** The BFL checkpoint's file name, as in the FLUX.1-dev repository. */
    public static final String BFL_FILE = "flux1-dev.safetensors";

    /** {@code scheduler/scheduler_config.json} of FLUX.1-dev. */
    static final String SCHEDULER_CONFIG = "{\n"
            + "  \"_class_name\": \"FlowMatchEulerDiscreteScheduler\",\n"
            + "  \"_diffusers_version\": \"0.30.0.dev0\",\n"
            + "  \"base_image_seq_len\": 256,\n"
            + "  \"base_shift\": 0.5,\n"
            + "  \"max_image_seq_len\": 4096,\n"
            + "  \"max_shift\": 1.15,\n"
            + "  \"num_train_timesteps\": 1000,\n"
            + "  \"shift\": 3.0,\n"
            + "  \"use_dynamic_shifting\": true\n"
            + "}\n";

    /** {@code model_index.json} of FLUX.1-dev (the pipeline's component map). */
    static final String MODEL_INDEX = "{\n"
            + "  \"_class_name\": \"FluxPipeline\",\n"
            + "  \"_diffusers_version\": \"0.30.0.dev0\",\n"
            + "  \"scheduler\": [\"diffusers\", \"FlowMatchEulerDiscreteScheduler\"],\n"
            + "  \"text_encoder\": [\"transformers\", \"CLIPTextModel\"],\n"
            + "  \"text_encoder_2\": [\"transformers\", \"T5EncoderModel\"],\n"
            + "  \"tokenizer\": [\"transformers\", \"CLIPTokenizer\"],\n"
            + "  \"tokenizer_2\": [\"transformers\", \"T5TokenizerFast\"],\n"
            + "  \"transformer\": [\"diffusers\", \"FluxTransformer2DModel\"],\n"
            + "  \"vae\": [\"diffusers\", \"AutoencoderKL\"]\n"
            + "}\n";

    private static final ObjectMapper JSON = new ObjectMapper();

    private TinyFlux() {}

    /**
     * The tiny architecture: 2 double + 2 single blocks, 2 heads × 16 (hidden 32), RoPE axes
     * (4, 6, 6), T5 width 32, pooled CLIP width 16, 64 packed channels, guidance embedding.
     */
    public static FluxConfig config() {
        return new FluxConfig(64, 64, 2, 2, 16, 2, 32, 16, true, new int[] {4, 6, 6});
    }

    /**
     * Writes {@code model_index.json}, {@code transformer/} (config and weights, in {@code dtype},
     * two shards plus index when {@code sharded}) and {@code scheduler/} under {@code modelDir}.
     */
    public static void write(Path modelDir, FluxConfig config, long seed, TensorType dtype, boolean sharded)
            throws IOException {
        Files.createDirectories(modelDir);
        AtomicFiles.writeString(modelDir.resolve("model_index.json"), MODEL_INDEX);
        writeTransformer(modelDir.resolve("transformer"), config, randomWeights(config, seed), dtype, sharded);
        Files.createDirectories(modelDir.resolve("scheduler"));
        AtomicFiles.writeString(modelDir.resolve("scheduler").resolve("scheduler_config.json"), SCHEDULER_CONFIG);
    }

    /** Writes the weights {@link #write} would write with the same seed as a BFL single-file checkpoint. */
    public static void writeBfl(Path file, FluxConfig config, long seed, TensorType dtype) throws IOException {
        writeBfl(file, config, randomWeights(config, seed), dtype);
    }

    /** Seeded random weights of {@code config}, diffusers names, in parameter order. */
    static Map<String, HostTensor> randomWeights(FluxConfig config, long seed) {
        Random random = new Random(seed);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        FluxTransformer.parameterSpec(config).shapes().forEach((name, shape) -> {
            float[] v = new float[(int) new Shape(shape).size()];
            boolean modulation = name.contains("norm1.linear") || name.contains("norm1_context.linear")
                    || name.contains(".norm.linear") || name.startsWith("norm_out.linear");
            if (name.matches(".*\\.norm_(added_)?[qk]\\.weight")) {
                fill(v, random, 1.0, 0.1); // QK RMSNorm weights
            } else if (name.endsWith(".bias")) {
                fill(v, random, 0, modulation ? 0.1 : 0.02);
            } else {
                double std = (modulation ? 0.2 : 1.0) / Math.sqrt(shape[1]);
                fill(v, random, 0, std);
            }
            out.put(name, new HostTensor(shape, v));
        });
        return out;
    }

    private static void fill(float[] v, Random random, double mean, double std) {
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (mean + std * random.nextGaussian());
        }
    }

    /** Writes {@code config.json} and the weights into {@code transformerDir}. */
    static void writeTransformer(Path transformerDir, FluxConfig config, Map<String, HostTensor> weights,
            TensorType dtype, boolean sharded) throws IOException {
        Files.createDirectories(transformerDir);
        AtomicFiles.writeString(transformerDir.resolve("config.json"), config.toJson());
        if (!sharded) {
            writeSafetensors(transformerDir.resolve("diffusion_pytorch_model.safetensors"), weights, dtype);
            return;
        }
        List<String> names = new ArrayList<>(weights.keySet());
        int half = names.size() / 2;
        ObjectNode index = JSON.createObjectNode();
        ObjectNode map = JSON.createObjectNode();
        long total = 0;
        for (int shard = 0; shard < 2; shard++) {
            String file = String.format("diffusion_pytorch_model-%05d-of-00002.safetensors", shard + 1);
            Map<String, HostTensor> part = new LinkedHashMap<>();
            for (String n : shard == 0 ? names.subList(0, half) : names.subList(half, names.size())) {
                part.put(n, weights.get(n));
                map.put(n, file);
                total += (long) weights.get(n).data().length * dtype.bytes();
            }
            writeSafetensors(transformerDir.resolve(file), part, dtype);
        }
        index.putObject("metadata").put("total_size", total);
        index.set("weight_map", map);
        AtomicFiles.writeString(transformerDir.resolve("diffusion_pytorch_model.safetensors.index.json"),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
    }

    /** Writes {@code weights} (diffusers names) in BFL naming: fused q/k/v, fused linear1, (shift, scale) final layer. */
    static void writeBfl(Path file, FluxConfig config, Map<String, HostTensor> weights, TensorType dtype)
            throws IOException {
        Map<String, HostTensor> bfl = new LinkedHashMap<>();
        for (String wb : new String[] {"weight", "bias"}) {
            bfl.put("img_in." + wb, weights.get("x_embedder." + wb));
            bfl.put("txt_in." + wb, weights.get("context_embedder." + wb));
            bfl.put("time_in.in_layer." + wb, weights.get("time_text_embed.timestep_embedder.linear_1." + wb));
            bfl.put("time_in.out_layer." + wb, weights.get("time_text_embed.timestep_embedder.linear_2." + wb));
            if (config.guidanceEmbeds()) {
                bfl.put("guidance_in.in_layer." + wb, weights.get("time_text_embed.guidance_embedder.linear_1." + wb));
                bfl.put("guidance_in.out_layer." + wb, weights.get("time_text_embed.guidance_embedder.linear_2." + wb));
            }
            bfl.put("vector_in.in_layer." + wb, weights.get("time_text_embed.text_embedder.linear_1." + wb));
            bfl.put("vector_in.out_layer." + wb, weights.get("time_text_embed.text_embedder.linear_2." + wb));
            bfl.put("final_layer.linear." + wb, weights.get("proj_out." + wb));
            bfl.put("final_layer.adaLN_modulation.1." + wb, swapHalves(weights.get("norm_out.linear." + wb)));
            for (int i = 0; i < config.numLayers(); i++) {
                String d = "transformer_blocks." + i + ".";
                String b = "double_blocks." + i + ".";
                bfl.put(b + "img_mod.lin." + wb, weights.get(d + "norm1.linear." + wb));
                bfl.put(b + "txt_mod.lin." + wb, weights.get(d + "norm1_context.linear." + wb));
                bfl.put(b + "img_attn.qkv." + wb, rows(weights, d + "attn.to_q." + wb, d + "attn.to_k." + wb,
                        d + "attn.to_v." + wb));
                bfl.put(b + "txt_attn.qkv." + wb, rows(weights, d + "attn.add_q_proj." + wb,
                        d + "attn.add_k_proj." + wb, d + "attn.add_v_proj." + wb));
                bfl.put(b + "img_attn.proj." + wb, weights.get(d + "attn.to_out.0." + wb));
                bfl.put(b + "txt_attn.proj." + wb, weights.get(d + "attn.to_add_out." + wb));
                bfl.put(b + "img_mlp.0." + wb, weights.get(d + "ff.net.0.proj." + wb));
                bfl.put(b + "img_mlp.2." + wb, weights.get(d + "ff.net.2." + wb));
                bfl.put(b + "txt_mlp.0." + wb, weights.get(d + "ff_context.net.0.proj." + wb));
                bfl.put(b + "txt_mlp.2." + wb, weights.get(d + "ff_context.net.2." + wb));
            }
            for (int j = 0; j < config.numSingleLayers(); j++) {
                String d = "single_transformer_blocks." + j + ".";
                String b = "single_blocks." + j + ".";
                bfl.put(b + "modulation.lin." + wb, weights.get(d + "norm.linear." + wb));
                bfl.put(b + "linear1." + wb, rows(weights, d + "attn.to_q." + wb, d + "attn.to_k." + wb,
                        d + "attn.to_v." + wb, d + "proj_mlp." + wb));
                bfl.put(b + "linear2." + wb, weights.get(d + "proj_out." + wb));
            }
        }
        for (int i = 0; i < config.numLayers(); i++) {
            String d = "transformer_blocks." + i + ".attn.";
            String b = "double_blocks." + i + ".";
            bfl.put(b + "img_attn.norm.query_norm.scale", weights.get(d + "norm_q.weight"));
            bfl.put(b + "img_attn.norm.key_norm.scale", weights.get(d + "norm_k.weight"));
            bfl.put(b + "txt_attn.norm.query_norm.scale", weights.get(d + "norm_added_q.weight"));
            bfl.put(b + "txt_attn.norm.key_norm.scale", weights.get(d + "norm_added_k.weight"));
        }
        for (int j = 0; j < config.numSingleLayers(); j++) {
            String d = "single_transformer_blocks." + j + ".attn.";
            bfl.put("single_blocks." + j + ".norm.query_norm.scale", weights.get(d + "norm_q.weight"));
            bfl.put("single_blocks." + j + ".norm.key_norm.scale", weights.get(d + "norm_k.weight"));
        }
        writeSafetensors(file, bfl, dtype);
    }

    /** The tensors stacked along their first axis. */
    private static HostTensor rows(Map<String, HostTensor> weights, String... names) {
        long rows = 0;
        int size = 0;
        for (String n : names) {
            rows += weights.get(n).shape()[0];
            size += weights.get(n).data().length;
        }
        float[] v = new float[size];
        int at = 0;
        for (String n : names) {
            float[] part = weights.get(n).data();
            System.arraycopy(part, 0, v, at, part.length);
            at += part.length;
        }
        long[] shape = weights.get(names[0]).shape().clone();
        shape[0] = rows;
        return new HostTensor(shape, v);
    }

    private static HostTensor swapHalves(HostTensor t) {
        float[] v = new float[t.data().length];
        int half = v.length / 2;
        System.arraycopy(t.data(), half, v, 0, half);
        System.arraycopy(t.data(), 0, v, half, half);
        return new HostTensor(t.shape(), v);
    }

    /** float32 bytes are written directly; other types are converted by the runtime's casts. */
    private static void writeSafetensors(Path file, Map<String, HostTensor> tensors, TensorType dtype)
            throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        if (dtype == TensorType.F32) {
            tensors.forEach((name, t) -> w.add(name, TensorType.F32, t.shape(), t.littleEndianBytes()));
            w.write(file);
            return;
        }
        HiCacheRuntime.bootstrap();
        try (NDManager m = NDManager.newBaseManager()) {
            tensors.forEach((name, t) -> w.add(name, m.create(t.data(), new Shape(t.shape())), dtype));
            w.write(file);
        }
    }
}
