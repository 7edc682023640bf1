package io.hicache.qwen.vision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.qwen.text.QwenTextConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading {@code vision_config} strictly. */
class QwenVisionConfigTest {
    /** The vision_config of Qwen-Image's text_encoder/config.json (saved by transformers 4.53). */
    static final String REAL = """
            {"model_type": "qwen2_5_vl", "vision_config": {
              "depth": 32, "fullatt_block_indexes": [7, 15, 23, 31], "hidden_act": "silu", "hidden_size": 1280,
              "in_channels": 3, "in_chans": 3, "initializer_range": 0.02, "intermediate_size": 3420,
              "model_type": "qwen2_5_vl", "num_heads": 16, "out_hidden_size": 3584, "patch_size": 14,
              "spatial_merge_size": 2, "spatial_patch_size": 14, "temporal_patch_size": 2, "tokens_per_second": 2,
              "torch_dtype": "float32", "window_size": 112}}
            """;

    @TempDir
    Path dir;

    QwenVisionConfig read(String json) throws IOException {
        Files.writeString(dir.resolve("config.json"), json);
        return QwenVisionConfig.read(dir);
    }

    InvalidModelException refused(String json) {
        return assertThrows(InvalidModelException.class, () -> read(json));
    }

    @Test
    void readsTheRealTower() throws IOException {
        QwenVisionConfig c = read(REAL);
        assertEquals(QwenVisionConfig.qwen25Vl7b(), c);
        assertEquals(80, c.headDim());
        assertEquals(1176, c.patchDim());
        assertEquals(4, c.mergeUnit());
        assertEquals(4, c.windowUnits()); // 112 px / (2 · 14 px)
        assertTrue(c.isFullAttention(7) && c.isFullAttention(31));
        assertFalse(c.isFullAttention(0) || c.isFullAttention(30));
    }

    @Test
    void olderFilesNameTheChannelsInChans() throws IOException {
        assertEquals(QwenVisionConfig.qwen25Vl7b(), read(REAL.replace("\"in_channels\": 3, ", "")));
        assertTrue(refused(REAL.replace("\"in_chans\": 3", "\"in_chans\": 4")).getMessage()
                .contains("in_channels = 3 but in_chans = 4"));
        assertTrue(refused(REAL.replace("\"in_channels\": 3, \"in_chans\": 3, ", "")).getMessage()
                .contains("in_channels"));
    }

    @Test
    void theTinyTextEncoderConfigCarriesTheTinyTower() throws IOException {
        QwenTextConfig text = QwenTextConfig.tiny();
        QwenVisionConfig c = read(text.toJson());
        assertEquals(QwenVisionConfig.tiny(text.hiddenSize()), c);
        assertEquals(16, c.headDim());
        assertEquals(2, c.windowUnits()); // 56 px / (2 · 14 px)
        assertEquals(text, QwenTextConfig.read(dir));
    }

    @Test
    void refusesWhatTheTowerDoesNotImplement() {
        assertTrue(refused(REAL.replace("\"silu\"", "\"quick_gelu\"")).getMessage().contains("hidden_act"));
        assertTrue(refused(REAL.replace("\"window_size\": 112", "\"window_size\": 100")).getMessage()
                .contains("window_size 100 must be a multiple of patch_size × spatial_merge_size = 28"));
        assertTrue(refused(REAL.replace("[7, 15, 23, 31]", "[7, 32]")).getMessage().contains("fullatt_block_indexes"));
        assertTrue(refused(REAL.replace("\"num_heads\": 16", "\"num_heads\": 128")).getMessage()
                .contains("divisible by 4"));
        assertTrue(refused(REAL.replace(", \"window_size\": 112", "")).getMessage().contains("'window_size'"));
        assertTrue(refused("{\"model_type\": \"qwen2_5_vl\"}").getMessage().contains("vision_config"));
    }
}
