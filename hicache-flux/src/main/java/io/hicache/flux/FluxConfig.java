package io.hicache.flux;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.util.ConfigJson;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The architecture of a FLUX.1 transformer, as diffusers' {@code transformer/config.json} states it
 * ({@code FluxTransformer2DModel}). FLUX.1-dev: 64 in/out channels, 19 double and 38 single blocks,
 * 24 heads × 128, joint_attention_dim 4096, pooled_projection_dim 768, guidance embedding, RoPE axes
 * (16, 56, 56). The MLP ratio (4) and the RoPE base (10000) are fixed by the architecture.
 */
public final class FluxConfig {
    public static final int MLP_RATIO = 4;
    public static final double ROPE_THETA = 10000;
    /** Sinusoidal channels of the timestep and guidance features. */
    public static final int TIMESTEP_CHANNELS = 256;
    /** Epsilon of every LayerNorm and QK RMSNorm. */
    public static final double NORM_EPS = 1e-6;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final int inChannels;
    private final int outChannels;
    private final int numLayers;
    private final int numSingleLayers;
    private final int attentionHeadDim;
    private final int numAttentionHeads;
    private final int jointAttentionDim;
    private final int pooledProjectionDim;
    private final boolean guidanceEmbeds;
    private final int[] axesDimsRope;

    /** A validated config; {@code outChannels} ≤ 0 means "same as inChannels" (diffusers' null). */
    public FluxConfig(int inChannels, int outChannels, int numLayers, int numSingleLayers, int attentionHeadDim,
            int numAttentionHeads, int jointAttentionDim, int pooledProjectionDim, boolean guidanceEmbeds,
            int[] axesDimsRope) {
        this.inChannels = inChannels;
        this.outChannels = outChannels <= 0 ? inChannels : outChannels;
        this.numLayers = numLayers;
        this.numSingleLayers = numSingleLayers;
        this.attentionHeadDim = attentionHeadDim;
        this.numAttentionHeads = numAttentionHeads;
        this.jointAttentionDim = jointAttentionDim;
        this.pooledProjectionDim = pooledProjectionDim;
        this.guidanceEmbeds = guidanceEmbeds;
        this.axesDimsRope = axesDimsRope.clone();
        validate();
    }

    private void validate() {
        check(inChannels > 0 && inChannels % 4 == 0,
                "in_channels must be a positive multiple of 4 (packed 2×2 latent channels), got " + inChannels);
        check(outChannels > 0, "out_channels must be positive, got " + outChannels);
        check(numLayers >= 0 && numSingleLayers >= 0, "layer counts must be >= 0");
        check(attentionHeadDim > 0 && attentionHeadDim % 2 == 0,
                "attention_head_dim must be positive and even, got " + attentionHeadDim);
        check(numAttentionHeads > 0, "num_attention_heads must be positive, got " + numAttentionHeads);
        check(jointAttentionDim > 0 && pooledProjectionDim > 0,
                "joint_attention_dim and pooled_projection_dim must be positive");
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

    /** FLUX.1-dev (19 double + 38 single blocks, hidden 3072, guidance-distilled). */
    public static FluxConfig dev() {
        return new FluxConfig(64, 64, 19, 38, 128, 24, 4096, 768, true, new int[] {16, 56, 56});
    }

    /** FLUX.1-schnell: as dev without the guidance embedding. */
    public static FluxConfig schnell() {
        return new FluxConfig(64, 64, 19, 38, 128, 24, 4096, 768, false, new int[] {16, 56, 56});
    }

    /** Reads {@code transformer/config.json}. */
    public static FluxConfig read(Path configJson) throws IOException {
        Path file = configJson.toAbsolutePath();
        return fromConfig(ModelFiles.readConfig(file.getParent(), file.getFileName().toString()));
    }

    /** Parses a diffusers transformer config; keys it does not use (e.g. {@code _class_name}) are ignored. */
    public static FluxConfig fromJson(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("transformer config is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("transformer config is not a JSON object");
        }
        try {
            return fromConfig(new ConfigJson(Path.of("transformer", "config.json"), root));
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * The config of a parsed file. Every key is read strictly; an absent key takes the default of
     * diffusers' {@code FluxTransformer2DModel.__init__} (which is what diffusers itself would build),
     * and {@code out_channels} null means in_channels, as it does there.
     */
    static FluxConfig fromConfig(ConfigJson c) throws IOException {
        String cls = c.getString("_class_name", "FluxTransformer2DModel");
        if (!cls.equals("FluxTransformer2DModel")) {
            throw c.invalid("not a FLUX transformer config: _class_name is " + cls);
        }
        int patch = c.getInt("patch_size", 1);
        if (patch != 1) {
            throw c.invalid("patch_size must be 1 (FLUX packs 2×2 patches outside the transformer), got " + patch);
        }
        int[] axesDims = c.has("axes_dims_rope") ? c.requireIntArray("axes_dims_rope") : new int[] {16, 56, 56};
        int inChannels = c.getInt("in_channels", 64, 4, ConfigJson.MAX_WIDTH);
        int outChannels = c.has("out_channels") && !c.isNull("out_channels")
                ? c.requireInt("out_channels", 1, ConfigJson.MAX_WIDTH) : inChannels;
        try {
            return new FluxConfig(
                    inChannels,
                    outChannels,
                    c.getInt("num_layers", 19, 0, ConfigJson.MAX_LAYERS),
                    c.getInt("num_single_layers", 38, 0, ConfigJson.MAX_LAYERS),
                    c.getInt("attention_head_dim", 128, 2, ConfigJson.MAX_HEAD_DIM),
                    c.getInt("num_attention_heads", 24, 1, ConfigJson.MAX_HEADS),
                    c.getInt("joint_attention_dim", 4096, 1, ConfigJson.MAX_WIDTH),
                    c.getInt("pooled_projection_dim", 768, 1, ConfigJson.MAX_WIDTH),
                    c.getBoolean("guidance_embeds", false),
                    axesDims);
        } catch (IllegalArgumentException e) {
            throw c.invalid(e.getMessage());
        }
    }

    /** The config as diffusers writes {@code transformer/config.json}. */
    public String toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("_class_name", "FluxTransformer2DModel");
        n.put("_diffusers_version", "0.30.0.dev0");
        n.put("attention_head_dim", attentionHeadDim);
        ArrayNode axes = n.putArray("axes_dims_rope");
        for (int d : axesDimsRope) {
            axes.add(d);
        }
        n.put("guidance_embeds", guidanceEmbeds);
        n.put("in_channels", inChannels);
        n.put("joint_attention_dim", jointAttentionDim);
        n.put("num_attention_heads", numAttentionHeads);
        n.put("num_layers", numLayers);
        n.put("num_single_layers", numSingleLayers);
        n.put("out_channels", outChannels);
        n.put("patch_size", 1);
        n.put("pooled_projection_dim", pooledProjectionDim);
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Channels of a packed latent token (4 × VAE latent channels). */
    public int inChannels() {
        return inChannels;
    }

    public int outChannels() {
        return outChannels;
    }

    /** Number of double-stream blocks. */
    public int numLayers() {
        return numLayers;
    }

    /** Number of single-stream blocks. */
    public int numSingleLayers() {
        return numSingleLayers;
    }

    public int attentionHeadDim() {
        return attentionHeadDim;
    }

    public int numAttentionHeads() {
        return numAttentionHeads;
    }

    /** Width of the T5 text embeddings. */
    public int jointAttentionDim() {
        return jointAttentionDim;
    }

    /** Width of the pooled CLIP embedding. */
    public int pooledProjectionDim() {
        return pooledProjectionDim;
    }

    /** Whether the model embeds a distilled guidance scale (dev: yes, schnell: no). */
    public boolean guidanceEmbeds() {
        return guidanceEmbeds;
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
        return inChannels / 4;
    }

    @Override
    public String toString() {
        return String.format("FluxConfig(in %d, out %d, %d double + %d single blocks, %d heads × %d, joint %d, pooled %d, "
                + "guidance %s, axes %s)", inChannels, outChannels, numLayers, numSingleLayers, numAttentionHeads,
                attentionHeadDim, jointAttentionDim, pooledProjectionDim, guidanceEmbeds, Arrays.toString(axesDimsRope));
    }
}
