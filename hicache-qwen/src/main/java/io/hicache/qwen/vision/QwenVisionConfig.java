package io.hicache.qwen.vision;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.util.ConfigJson;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The {@code vision_config} of {@code text_encoder/config.json} ({@code Qwen2_5_VLVisionConfig}),
 * read strictly: every field the vision tower's computation depends on must be present, because
 * transformers' class defaults are not those of the released model (its default hidden_size is
 * 3584, the released tower's is 1280), so a missing field cannot be filled in safely.
 *
 * @param depth vision blocks
 * @param hiddenSize width of the blocks
 * @param intermediateSize MLP width of the blocks
 * @param numHeads attention heads (head width hiddenSize / numHeads, a multiple of 4 for the 2-D rotary)
 * @param outHiddenSize width of the merger's output, the language model's hidden size
 * @param patchSize spatial patch side in pixels
 * @param spatialMergeSize side of a merge unit in patches (the merger joins merge² patches)
 * @param temporalPatchSize frames per patch
 * @param windowSize side of an attention window in pixels (a multiple of patch · merge)
 * @param fullAttentionBlocks the blocks that attend over the whole frame; all others attend within windows
 * @param inChannels image channels
 */
public record QwenVisionConfig(int depth, int hiddenSize, int intermediateSize, int numHeads, int outHiddenSize,
        int patchSize, int spatialMergeSize, int temporalPatchSize, int windowSize, int[] fullAttentionBlocks,
        int inChannels) {
    /** The only activation of the blocks' gated MLP that this tower implements. */
    public static final String HIDDEN_ACT = "silu";
    static final int MAX_PATCH = 1024;
    static final int MAX_MERGE = 64;
    static final int MAX_CHANNELS = 64;

    public QwenVisionConfig {
        fullAttentionBlocks = fullAttentionBlocks.clone();
        if (depth <= 0 || hiddenSize <= 0 || intermediateSize <= 0 || numHeads <= 0 || outHiddenSize <= 0
                || patchSize <= 0 || spatialMergeSize <= 0 || temporalPatchSize <= 0 || windowSize <= 0
                || inChannels <= 0) {
            throw new IllegalArgumentException("vision sizes must be positive");
        }
        if (hiddenSize % numHeads != 0 || (hiddenSize / numHeads) % 4 != 0) {
            throw new IllegalArgumentException("vision hidden_size " + hiddenSize + " must split into " + numHeads
                    + " heads of a width divisible by 4 (the 2-D rotary gives each axis a quarter of the head)");
        }
        if (windowSize % (patchSize * spatialMergeSize) != 0) {
            throw new IllegalArgumentException("window_size " + windowSize + " must be a multiple of patch_size × "
                    + "spatial_merge_size = " + patchSize * spatialMergeSize);
        }
        for (int b : fullAttentionBlocks) {
            if (b < 0 || b >= depth) {
                throw new IllegalArgumentException("fullatt_block_indexes " + Arrays.toString(fullAttentionBlocks)
                        + " must lie in [0, depth = " + depth + ")");
            }
        }
        // the patch vector and the merged vector must stay inside an int-indexed array row
        if ((long) inChannels * temporalPatchSize * patchSize * patchSize > Integer.MAX_VALUE / 16
                || (long) hiddenSize * spatialMergeSize * spatialMergeSize > Integer.MAX_VALUE / 16) {
            throw new IllegalArgumentException("vision patch or merge unit too large");
        }
    }

    /** The vision tower of Qwen2.5-VL-7B-Instruct, as Qwen-Image's text_encoder/config.json describes it. */
    public static QwenVisionConfig qwen25Vl7b() {
        return new QwenVisionConfig(32, 1280, 3420, 16, 3584, 14, 2, 2, 112, new int[] {7, 15, 23, 31}, 3);
    }

    /**
     * A tiny tower of the same architecture: 4 blocks of which 1 and 3 attend over the whole frame,
     * width 32 in 2 heads of 16, real patch geometry (3 × 2 × 14 × 14 = 1176 values a patch), and
     * windows of 2 × 2 merge units (56 pixels), so that window attention matters on small images.
     */
    public static QwenVisionConfig tiny(int outHiddenSize) {
        return new QwenVisionConfig(4, 32, 64, 2, outHiddenSize, 14, 2, 2, 56, new int[] {1, 3}, 3);
    }

    public int headDim() {
        return hiddenSize / numHeads;
    }

    /** Values of one input patch: channels × frames × patch × patch (1176 for the real model). */
    public int patchDim() {
        return inChannels * temporalPatchSize * patchSize * patchSize;
    }

    /** Patches in one merge unit (spatial_merge_size²). */
    public int mergeUnit() {
        return spatialMergeSize * spatialMergeSize;
    }

    /** Side of an attention window in merge units (upstream's vit_merger_window_size). */
    public int windowUnits() {
        return windowSize / (spatialMergeSize * patchSize);
    }

    /** True when block {@code index} attends over the whole frame instead of within windows. */
    public boolean isFullAttention(int index) {
        for (int b : fullAttentionBlocks) {
            if (b == index) {
                return true;
            }
        }
        return false;
    }

    /** Reads the {@code vision_config} of {@code dir/config.json}. */
    public static QwenVisionConfig read(Path dir) throws IOException {
        ConfigJson root = ConfigJson.read(dir.resolve("config.json"));
        ConfigJson c = root.getObject("vision_config");
        if (c == null) {
            throw root.invalid("missing field 'vision_config': the Qwen2.5-VL vision tower (needed to encode input "
                    + "images) is not described");
        }
        String act = c.getString("hidden_act", null);
        if (!HIDDEN_ACT.equals(act)) {
            throw c.invalid("vision_config.hidden_act must be '" + HIDDEN_ACT + "', got "
                    + (act == null ? "none" : "'" + act + "'"));
        }
        // transformers ≥ 4.50 writes in_channels, older files only in_chans; recent files carry both
        Integer channels = null;
        for (String name : new String[] {"in_channels", "in_chans"}) {
            if (c.has(name)) {
                int v = c.requireInt(name, 1, MAX_CHANNELS);
                if (channels != null && channels != v) {
                    throw c.invalid("vision_config has in_channels = " + channels + " but in_chans = " + v);
                }
                channels = v;
            }
        }
        if (channels == null) {
            throw c.invalid("vision_config lacks 'in_channels' (or the older 'in_chans')");
        }
        try {
            return new QwenVisionConfig(
                    c.requireInt("depth", 1, ConfigJson.MAX_LAYERS),
                    c.requireInt("hidden_size", 1, ConfigJson.MAX_WIDTH),
                    c.requireInt("intermediate_size", 1, ConfigJson.MAX_WIDTH),
                    c.requireInt("num_heads", 1, ConfigJson.MAX_HEADS),
                    c.requireInt("out_hidden_size", 1, ConfigJson.MAX_WIDTH),
                    c.requireInt("patch_size", 1, MAX_PATCH),
                    c.requireInt("spatial_merge_size", 1, MAX_MERGE),
                    c.requireInt("temporal_patch_size", 1, MAX_MERGE),
                    c.requireInt("window_size", 1, MAX_PATCH * MAX_MERGE),
                    c.requireIntArray("fullatt_block_indexes"),
                    channels);
        } catch (IllegalArgumentException e) {
            throw c.invalid(e.getMessage());
        }
    }

    /** Writes the fields as the {@code vision_config} object of a transformers config.json holds them. */
    public void writeJson(ObjectNode v) {
        v.put("depth", depth);
        ArrayNode full = v.putArray("fullatt_block_indexes");
        Arrays.stream(fullAttentionBlocks).forEach(full::add);
        v.put("hidden_act", HIDDEN_ACT);
        v.put("hidden_size", hiddenSize);
        v.put("in_channels", inChannels);
        v.put("in_chans", inChannels);
        v.put("intermediate_size", intermediateSize);
        v.put("model_type", "qwen2_5_vl");
        v.put("num_heads", numHeads);
        v.put("out_hidden_size", outHiddenSize);
        v.put("patch_size", patchSize);
        v.put("spatial_merge_size", spatialMergeSize);
        v.put("spatial_patch_size", patchSize);
        v.put("temporal_patch_size", temporalPatchSize);
        v.put("tokens_per_second", 2);
        v.put("window_size", windowSize);
    }

    @Override
    public int[] fullAttentionBlocks() {
        return fullAttentionBlocks.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QwenVisionConfig c && depth == c.depth && hiddenSize == c.hiddenSize
                && intermediateSize == c.intermediateSize && numHeads == c.numHeads && outHiddenSize == c.outHiddenSize
                && patchSize == c.patchSize && spatialMergeSize == c.spatialMergeSize
                && temporalPatchSize == c.temporalPatchSize && windowSize == c.windowSize
                && Arrays.equals(fullAttentionBlocks, c.fullAttentionBlocks) && inChannels == c.inChannels;
    }

    @Override
    public int hashCode() {
        return (Arrays.hashCode(fullAttentionBlocks) * 31 + depth) * 31 + hiddenSize;
    }

    @Override
    public String toString() {
        return "QwenVisionConfig[depth " + depth + " (full attention " + Arrays.toString(fullAttentionBlocks)
                + "), hidden " + hiddenSize + ", intermediate " + intermediateSize + ", heads " + numHeads + ", out "
                + outHiddenSize + ", patch " + inChannels + "×" + temporalPatchSize + "×" + patchSize + "², merge "
                + spatialMergeSize + ", window " + windowSize + "]";
    }
}
