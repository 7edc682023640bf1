package io.hicache.qwen.transformer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.core.nn.ParameterSpec;
import org.junit.jupiter.api.Test;

/** Strict reading of transformer/config.json and the parameter layout of the real model (docs/qwen-image.md §2, §5). */
class QwenImageConfigTest {
    /** Qwen/Qwen-Image transformer/config.json. */
    static final String REAL = "{\"_class_name\": \"QwenImageTransformer2DModel\", \"_diffusers_version\": \"0.34.0.dev0\","
            + " \"attention_head_dim\": 128, \"axes_dims_rope\": [16, 56, 56], \"guidance_embeds\": false,"
            + " \"in_channels\": 64, \"joint_attention_dim\": 3584, \"num_attention_heads\": 24, \"num_layers\": 60,"
            + " \"out_channels\": 16, \"patch_size\": 2, \"pooled_projection_dim\": 768}";

    static IllegalArgumentException refused(String json) {
        return assertThrows(IllegalArgumentException.class, () -> QwenImageConfig.fromJson(json));
    }

    @Test
    void readsTheRealConfig() {
        QwenImageConfig c = QwenImageConfig.fromJson(REAL);
        assertEquals(60, c.numLayers());
        assertEquals(3072, c.hiddenSize());
        assertEquals(12288, c.mlpHiddenSize());
        assertEquals(3584, c.jointAttentionDim());
        assertEquals(64, c.packedOutChannels());
        assertEquals(16, c.latentChannels());
        assertArrayEquals(new int[] {16, 56, 56}, c.axesDimsRope());
        assertEquals(c.toString(), QwenImageConfig.fromJson(c.toJson()).toString(), "round trip");
    }

    @Test
    void realParameterLayoutHas1933TensorsAnd20_4BParameters() {
        ParameterSpec s = QwenImageTransformer.parameterSpec(QwenImageConfig.fromJson(REAL));
        assertEquals(1933, s.size());
        assertEquals(20_430_401_088L, s.count());
        assertArrayEquals(new long[] {18432, 3072}, s.shapes().get("transformer_blocks.59.img_mod.1.weight"));
        assertArrayEquals(new long[] {3584}, s.shapes().get("txt_norm.weight"));
        assertArrayEquals(new long[] {6144, 3072}, s.shapes().get("norm_out.linear.weight"));
        assertArrayEquals(new long[] {64, 3072}, s.shapes().get("proj_out.weight"));
        assertArrayEquals(new long[] {128}, s.shapes().get("transformer_blocks.0.attn.norm_added_k.weight"));
    }

    @Test
    void refusesWhatItDoesNotImplement() {
        assertTrue(refused(REAL.replace("\"num_layers\": 60,", "")).getMessage().contains("missing keys [num_layers]"));
        assertTrue(refused(REAL.replace("\"patch_size\": 2", "\"patch_size\": 2, \"foo\": 1")).getMessage()
                .contains("unknown keys [foo]"));
        assertTrue(refused(REAL.replace("\"guidance_embeds\": false", "\"guidance_embeds\": true")).getMessage()
                .contains("guidance_embeds = true is not supported"));
        assertTrue(refused(REAL.replace("\"patch_size\": 2", "\"patch_size\": 2, \"zero_cond_t\": true")).getMessage()
                .contains("zero_cond_t"));
        assertTrue(refused(REAL.replace("QwenImageTransformer2DModel", "FluxTransformer2DModel")).getMessage()
                .contains("_class_name"));
        assertTrue(refused(REAL.replace("\"patch_size\": 2", "\"patch_size\": 1")).getMessage().contains("patch_size"));
        assertTrue(refused(REAL.replace("[16, 56, 56]", "[16, 56, 58]")).getMessage().contains("sum to 130"));
        assertTrue(refused(REAL.replace("\"out_channels\": 16", "\"out_channels\": 32")).getMessage()
                .contains("out_channels"));
        assertTrue(refused(REAL.replace("\"num_layers\": 60", "\"num_layers\": 6.5")).getMessage()
                .contains("num_layers must be an integer"));
        refused("[1, 2]");
        refused("{not json");
    }

    @Test
    void optionalVariantFlagsMayBeFalse() {
        QwenImageConfig c = QwenImageConfig.fromJson(REAL.replace("\"patch_size\": 2",
                "\"patch_size\": 2, \"zero_cond_t\": false, \"use_additional_t_cond\": false, \"use_layer3d_rope\": false"));
        assertEquals(60, c.numLayers());
    }
}
