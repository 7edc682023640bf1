package io.hicache.qwen.transformer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The architecture of a Qwen-Image transformer as diffusers' {@code transformer/config.json} states
 * it ({@code QwenImageTransformer2DModel}). Qwen-Image: patch 2, 64 packed input channels, 16 output
 * channels (64 per packed token), 60 dual-stream blocks, 24 heads × 128, joint_attention_dim 3584,
 * RoPE axes (16, 56, 56), no guidance embedding.
 *
 * <p>Read strictly: every architecture key must be present (no defaults are guessed), keys this
 * implementation does not know are refused, and the variants it does not implement
 * ({@code guidance_embeds}, {@code zero_cond_t}, {@code use_additional_t_cond},
 * {@code use_layer3d_rope} set to true) are refused by name rather than silently ignored.
 */
public final class QwenImageConfig {
    public static final String CLASS_NAME = "QwenImageTransformer2DModel";
    public static final int MLP_RATIO = 4;
    public static final double ROPE_THETA = 10000;
    /** Sinusoidal channels of the timestep features. */
    public static final int TIMESTEP_CHANNELS = 256;
    /** Epsilon of every LayerNorm and RMSNorm of the transformer. */
    public static final double NORM_EPS = 1e-6;
    /** The side of a packed latent patch (the pipeline packs 2×2 outside the transformer). */
    public static final int PATCH_SIZE = 2;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> REQUIRED = List.of("patch_size", "in_channels", "out_channels", "num_layers",
            "attention_head_dim", "num_attention_heads", "joint_attention_dim", "axes_dims_rope");
    /** Keys the real file carries that the architecture does not use or that only select variants. */
    private static final Set<String> OPTIONAL = Set.of("guidance_embeds", "pooled_projection_dim", "zero_cond_t",
            "use_additional_t_cond", "use_layer3d_rope");

    private final int inChannels;
    private final int outChannels;
    private final int numLayers;
    private final int attentionHeadDim;
    private final int numAttentionHeads;
    private final int jointAttentionDim;
    private final int[] axesDimsRope;

    public QwenImageConfig(int inChannels, int outChannels, int numLayers, int attentionHeadDim, int numAttentionHeads,
            int jointAttentionDim, int[] axesDimsRope) {
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.numLayers = numLayers;
        this.attentionHeadDim = attentionHeadDim;
        this.numAttentionHeads = numAttentionHeads;
        this.jointAttentionDim = jointAttentionDim;
        this.axesDimsRope = axesDimsRope.clone();
        validate();
    }

    /** Qwen-Image (and Qwen-Image-Edit): 60 blocks, 24 × 128, text width 3584. */
    public static QwenImageConfig qwenImage() {
        return new QwenImageConfig(64, 16, 60, 128, 24, 3584, new int[] {16, 56, 56});
    }

    private void validate() {
        check(inChannels > 0 && inChannels % (PATCH_SIZE * PATCH_SIZE) == 0,
                "in_channels must be a positive multiple of 4 (packed 2×2 latent channels), got " + inChannels);
        check(outChannels > 0, "out_channels must be positive, got " + outChannels);
        check(outChannels * PATCH_SIZE * PATCH_SIZE == inChannels, "out_channels · 4 (" + outChannels * 4
                + ") must equal in_channels (" + inChannels + "): the output is a packed latent token");
        check(numLayers >= 0, "num_layers must be >= 0, got " + numLayers);
        check(attentionHeadDim > 0 && attentionHeadDim % 2 == 0,
                "attention_head_dim must be positive and even, got " + attentionHeadDim);
        check(numAttentionHeads > 0, "num_attention_heads must be positive, got " + numAttentionHeads);
        check(jointAttentionDim > 0, "joint_attention_dim must be positive, got " + jointAttentionDim);
        check(axesDimsRope.length == 3, "axes_dims_rope must have 3 entries (frame, row, column), got "
                + Arrays.toString(axesDimsRope));
        int sum = 0;
        for (int d : axesDimsRope) {
            check(d > 0 && d % 2 == 0, "axes_dims_rope entries must be positive and even: " + Arrays.toString(axesDimsRope));
            sum += d;
        }
        check(sum == attentionHeadDim, "axes_dims_rope " + Arrays.toString(axesDimsRope) + " sum to " + sum
                + ", but attention_head_dim is " + attentionHeadDim);
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Reads {@code transformer/config.json}; errors name the file. */
    public static QwenImageConfig read(Path configJson) throws IOException {
        try {
            return fromJson(Files.readString(configJson));
        } catch (IllegalArgumentException e) {
            throw new IOException(configJson + ": " + e.getMessage(), e);
        }
    }

    /** Parses a diffusers Qwen-Image transformer config (see the class comment for the rules). */
    public static QwenImageConfig fromJson(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("transformer config is not valid JSON: " + e.getMessage(), e);
        }
        check(root != null && root.isObject(), "transformer config is not a JSON object");
        String cls = root.path("_class_name").asText("");
        check(cls.equals(CLASS_NAME), "not a Qwen-Image transformer config: _class_name is '" + cls + "', expected "
                + CLASS_NAME);
        List<String> unknown = new ArrayList<>();
        for (Iterator<String> it = root.fieldNames(); it.hasNext();) {
            String k = it.next();
            if (!k.startsWith("_") && !REQUIRED.contains(k) && !OPTIONAL.contains(k)) {
                unknown.add(k);
            }
        }
        check(unknown.isEmpty(), "unknown keys " + unknown + " (a variant this implementation does not know)");
        List<String> missing = new ArrayList<>();
        for (String k : REQUIRED) {
            if (root.get(k) == null || root.get(k).isNull()) {
                missing.add(k);
            }
        }
        check(missing.isEmpty(), "missing keys " + missing);
        for (String flag : new String[] {"guidance_embeds", "zero_cond_t", "use_additional_t_cond", "use_layer3d_rope"}) {
            JsonNode v = root.get(flag);
            if (v != null && !v.isNull()) {
                check(v.isBoolean(), flag + " must be true or false, got " + v);
                check(!v.asBoolean(), flag + " = true is not supported (Qwen-Image and Qwen-Image-Edit have false)");
            }
        }
        int patch = integer(root, "patch_size");
        check(patch == PATCH_SIZE, "patch_size must be 2, got " + patch);
        JsonNode axes = root.get("axes_dims_rope");
        check(axes.isArray(), "axes_dims_rope must be an array, got " + axes);
        int[] axesDims = new int[axes.size()];
        for (int i = 0; i < axesDims.length; i++) {
            check(axes.get(i).isIntegralNumber(), "axes_dims_rope must hold integers, got " + axes);
            axesDims[i] = axes.get(i).asInt();
        }
        return new QwenImageConfig(integer(root, "in_channels"), integer(root, "out_channels"),
                integer(root, "num_layers"), integer(root, "attention_head_dim"), integer(root, "num_attention_heads"),
                integer(root, "joint_attention_dim"), axesDims);
    }

    private static int integer(JsonNode root, String key) {
        JsonNode v = root.get(key);
        check(v.isIntegralNumber() && v.canConvertToInt(), key + " must be an integer, got " + v);
        return v.asInt();
    }

    /** The config as diffusers writes {@code transformer/config.json} for Qwen-Image. */
    public String toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("_class_name", CLASS_NAME);
        n.put("_diffusers_version", "0.34.0.dev0");
        n.put("attention_head_dim", attentionHeadDim);
        ArrayNode axes = n.putArray("axes_dims_rope");
        for (int d : axesDimsRope) {
            axes.add(d);
        }
        n.put("guidance_embeds", false);
        n.put("in_channels", inChannels);
        n.put("joint_attention_dim", jointAttentionDim);
        n.put("num_attention_heads", numAttentionHeads);
        n.put("num_layers", numLayers);
        n.put("out_channels", outChannels);
        n.put("patch_size", PATCH_SIZE);
        n.put("pooled_projection_dim", 768);
        return n.toPrettyString() + "\n";
    }

    /** Channels of a packed latent token (4 × VAE latent channels). */
    public int inChannels() {
        return inChannels;
    }

    /** Channels of the VAE latent (the output per token is 4 × this). */
    public int outChannels() {
        return outChannels;
    }

    /** Channels of a packed output token: patch² · out_channels. */
    public int packedOutChannels() {
        return PATCH_SIZE * PATCH_SIZE * outChannels;
    }

    /** Number of dual-stream blocks. */
    public int numLayers() {
        return numLayers;
    }

    public int attentionHeadDim() {
        return attentionHeadDim;
    }

    public int numAttentionHeads() {
        return numAttentionHeads;
    }

    /** Width of the text encoder's hidden states (Qwen2.5-VL: 3584). */
    public int jointAttentionDim() {
        return jointAttentionDim;
    }

    public int[] axesDimsRope() {
        return axesDimsRope.clone();
    }

    /** Transformer width: heads × head dim. */
    public int hiddenSize() {
        return numAttentionHeads * attentionHeadDim;
    }

    /** MLP width: 4 × hidden. */
    public int mlpHiddenSize() {
        return MLP_RATIO * hiddenSize();
    }

    /** Channels of the VAE latent the packed tokens come from. */
    public int latentChannels() {
        return inChannels / (PATCH_SIZE * PATCH_SIZE);
    }

    @Override
    public String toString() {
        return String.format("QwenImageConfig(in %d, out %d, %d blocks, %d heads × %d, joint %d, axes %s)", inChannels,
                outChannels, numLayers, numAttentionHeads, attentionHeadDim, jointAttentionDim,
                Arrays.toString(axesDimsRope));
    }
}
