package io.hicache.flux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FluxConfigTest {
    @Test
    void readsTheFluxDevConfig() {
        FluxConfig c = FluxFlopsTest.DEV;
        assertEquals(64, c.inChannels());
        assertEquals(64, c.outChannels(), "out_channels absent → in_channels");
        assertEquals(19, c.numLayers());
        assertEquals(38, c.numSingleLayers());
        assertEquals(3072, c.hiddenSize());
        assertEquals(12288, c.mlpHiddenSize());
        assertEquals(4096, c.jointAttentionDim());
        assertEquals(768, c.pooledProjectionDim());
        assertTrue(c.guidanceEmbeds());
        assertArrayEquals(new int[] {16, 56, 56}, c.axesDimsRope());
        assertEquals(16, c.latentChannels());
    }

    @Test
    void schnellHasNoGuidanceEmbedding() {
        FluxConfig c = FluxConfig.fromJson(FluxFlopsTest.FLUX_DEV.replace("\"guidance_embeds\": true", "\"guidance_embeds\": false")
                .replace("}", ", \"out_channels\": null}"));
        assertFalse(c.guidanceEmbeds());
        assertEquals(64, c.outChannels());
        assertFalse(FluxTransformer.parameterSpec(c).shapes().keySet().stream().anyMatch(n -> n.contains("guidance")));
    }

    @Test
    void writesWhatItReads(@TempDir Path dir) throws IOException {
        FluxConfig tiny = TinyFlux.config();
        Path file = dir.resolve("config.json");
        Files.writeString(file, tiny.toJson());
        FluxConfig back = FluxConfig.read(file);
        assertEquals(tiny.toString(), back.toString());
        assertTrue(tiny.toJson().contains("\"_class_name\" : \"FluxTransformer2DModel\""));
    }

    @Test
    void rejectsInconsistentConfigs(@TempDir Path dir) throws IOException {
        String dev = FluxFlopsTest.FLUX_DEV;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FluxConfig.fromJson(dev.replace("[16, 56, 56]", "[16, 56, 48]")));
        assertTrue(e.getMessage().contains("sum to 120"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FluxConfig.fromJson(dev.replace("\"patch_size\": 1", "\"patch_size\": 2")));
        assertThrows(IllegalArgumentException.class,
                () -> FluxConfig.fromJson(dev.replace("FluxTransformer2DModel", "QwenImageTransformer2DModel")));
        assertThrows(IllegalArgumentException.class, () -> FluxConfig.fromJson(dev.replace("\"in_channels\": 64", "\"in_channels\": 66")));
        assertThrows(IllegalArgumentException.class, () -> FluxConfig.fromJson("{"));
        Path file = dir.resolve("config.json");
        Files.writeString(file, dev.replace("\"num_attention_heads\": 24", "\"num_attention_heads\": 0"));
        IOException io = assertThrows(IOException.class, () -> FluxConfig.read(file));
        assertTrue(io.getMessage().contains(file.toString()) && io.getMessage().contains("num_attention_heads"),
                io.getMessage());
    }
}
