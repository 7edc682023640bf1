package io.hicache.flux.vae;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.util.ConfigJson;
import io.hicache.flux.ModelFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** The fields of {@code vae/config.json} (diffusers' AutoencoderKL) that its encoder and decoder use, with diffusers' defaults. */
public final class VaeConfig {
    /** More levels would upscale latents by more than 2^7 per side; FLUX.1 has 4. */
    static final int MAX_LEVELS = 8;

    public final int inChannels;
    public final int outChannels;
    public final int latentChannels;
    private final int[] blockOutChannels;
    public final int layersPerBlock;
    public final int normNumGroups;
    public final double scalingFactor;
    public final double shiftFactor;
    public final boolean midBlockAddAttention;
    public final boolean useQuantConv;
    public final boolean usePostQuantConv;

    /** As the full constructor with as many image channels in as out, and quant_conv present with post_quant_conv. */
    public VaeConfig(int outChannels, int latentChannels, int[] blockOutChannels, int layersPerBlock, int normNumGroups,
            double scalingFactor, double shiftFactor, boolean midBlockAddAttention, boolean usePostQuantConv) {
        this(outChannels, outChannels, latentChannels, blockOutChannels, layersPerBlock, normNumGroups, scalingFactor,
                shiftFactor, midBlockAddAttention, usePostQuantConv, usePostQuantConv);
    }

    public VaeConfig(int inChannels, int outChannels, int latentChannels, int[] blockOutChannels, int layersPerBlock,
            int normNumGroups, double scalingFactor, double shiftFactor, boolean midBlockAddAttention, boolean useQuantConv,
            boolean usePostQuantConv) {
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.latentChannels = latentChannels;
        this.blockOutChannels = blockOutChannels.clone();
        this.layersPerBlock = layersPerBlock;
        this.normNumGroups = normNumGroups;
        this.scalingFactor = scalingFactor;
        this.shiftFactor = shiftFactor;
        this.midBlockAddAttention = midBlockAddAttention;
        this.useQuantConv = useQuantConv;
        this.usePostQuantConv = usePostQuantConv;
    }

    /** FLUX.1's VAE (the SD3 configuration). */
    public static VaeConfig flux1() {
        return new VaeConfig(3, 16, new int[] {128, 256, 512, 512}, 2, 32, 0.3611, 0.1159, true, false);
    }

    /**
     * A tiny autoencoder with FLUX's structure and its 8× upscaling (four levels), a channel change
     * between levels (so one ResNet needs its 1×1 shortcut) and 8 GroupNorm groups.
     */
    public static VaeConfig tiny() {
        return new VaeConfig(3, 16, new int[] {16, 32, 32, 32}, 1, 8, 0.3611, 0.1159, true, false);
    }

    public int[] blockOutChannels() {
        return blockOutChannels.clone();
    }

    public int levels() {
        return blockOutChannels.length;
    }

    /** Pixels per latent along each side: 2^(levels − 1). */
    public int scaleFactor() {
        return 1 << (blockOutChannels.length - 1);
    }

    /** Reads {@code dir/config.json}. */
    public static VaeConfig read(Path dir) throws IOException {
        ConfigJson c = ModelFiles.readConfig(dir, "config.json");
        List<String> upBlocks = c.getStringArray("up_block_types");
        for (String t : upBlocks) {
            if (!t.equals("UpDecoderBlock2D")) {
                throw c.invalid("up block type " + t + " is not supported (UpDecoderBlock2D only)");
            }
        }
        List<String> downBlocks = c.getStringArray("down_block_types");
        for (String t : downBlocks) {
            if (!t.equals("DownEncoderBlock2D")) {
                throw c.invalid("down block type " + t + " is not supported (DownEncoderBlock2D only)");
            }
        }
        if (!c.getString("act_fn", "silu").equals("silu") || !c.getString("norm_type", "group").equals("group")) {
            throw c.invalid("only act_fn silu with group norms is supported");
        }
        int[] blockOutChannels = c.requireIntArray("block_out_channels");
        if (blockOutChannels.length > MAX_LEVELS) {
            throw c.invalid("block_out_channels has " + blockOutChannels.length + " levels, at most " + MAX_LEVELS
                    + " are supported");
        }
        // absent keys take AutoencoderKL's defaults
        VaeConfig v = new VaeConfig(
                c.getInt("in_channels", 3, 1, ConfigJson.MAX_WIDTH),
                c.getInt("out_channels", 3, 1, ConfigJson.MAX_WIDTH),
                c.getInt("latent_channels", 4, 1, ConfigJson.MAX_WIDTH),
                blockOutChannels,
                c.getInt("layers_per_block", 1, 1, ConfigJson.MAX_LAYERS),
                c.getInt("norm_num_groups", 32, 1, ConfigJson.MAX_WIDTH),
                c.getDouble("scaling_factor", 0.18215),
                c.getDouble("shift_factor", 0.0), // null in SD VAEs: no shift
                c.getBoolean("mid_block_add_attention", true),
                c.getBoolean("use_quant_conv", true),
                c.getBoolean("use_post_quant_conv", true));
        if (!upBlocks.isEmpty() && upBlocks.size() != v.levels()) {
            throw c.invalid("up_block_types and block_out_channels differ in length");
        }
        if (!downBlocks.isEmpty() && downBlocks.size() != v.levels()) {
            throw c.invalid("down_block_types and block_out_channels differ in length");
        }
        for (int ch : v.blockOutChannels) {
            if (ch <= 0 || ch > ConfigJson.MAX_WIDTH || ch % v.normNumGroups != 0) {
                throw c.invalid("block_out_channels " + ch + " is not a positive multiple of norm_num_groups " + v.normNumGroups);
            }
        }
        if (v.latentChannels <= 0 || v.inChannels <= 0 || v.outChannels <= 0 || v.layersPerBlock < 1 || v.scalingFactor == 0) {
            throw c.invalid("latent_channels, in_channels, out_channels and layers_per_block must be positive, scaling_factor non-zero");
        }
        return v;
    }

    /** The config.json diffusers writes for an AutoencoderKL with these values. */
    public String toJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("_class_name", "AutoencoderKL");
        o.put("in_channels", inChannels);
        o.put("out_channels", outChannels);
        o.put("latent_channels", latentChannels);
        ArrayNode blocks = o.putArray("block_out_channels");
        ArrayNode down = o.putArray("down_block_types");
        ArrayNode up = o.putArray("up_block_types");
        for (int ch : blockOutChannels) {
            blocks.add(ch);
            down.add("DownEncoderBlock2D");
            up.add("UpDecoderBlock2D");
        }
        o.put("layers_per_block", layersPerBlock);
        o.put("norm_num_groups", normNumGroups);
        o.put("act_fn", "silu");
        o.put("scaling_factor", scalingFactor);
        o.put("shift_factor", shiftFactor);
        o.put("mid_block_add_attention", midBlockAddAttention);
        o.put("use_quant_conv", useQuantConv);
        o.put("use_post_quant_conv", usePostQuantConv);
        o.put("force_upcast", true);
        o.put("sample_size", 1024);
        return o.toPrettyString();
    }
}
