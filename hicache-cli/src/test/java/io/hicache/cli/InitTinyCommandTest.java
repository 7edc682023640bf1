package io.hicache.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitTinyCommandTest {
    @TempDir
    Path dir;

    @Test
    void writesALoadableTinyFluxModel() {
        Path model = dir.resolve("tiny");
        CliRun r = CliRun.of("init-tiny", "flux", model.toString(), "--sharded", "--dtype", "bfloat16");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(Files.exists(model.resolve("transformer/config.json")));
        assertTrue(Files.exists(model.resolve("text_encoder_2/model.safetensors.index.json")));
        assertTrue(Files.exists(model.resolve("tokenizer/vocab.json")));
        assertTrue(Files.exists(model.resolve("vae/diffusion_pytorch_model.safetensors")));
        assertTrue(r.out().contains("--model-path " + model), r.out());
    }

    @Test
    void refusesANonEmptyDirectoryAndUnknownBackends() throws Exception {
        Files.writeString(dir.resolve("x"), "keep me");
        CliRun r = CliRun.of("init-tiny", "flux", dir.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("not an empty directory"), r.err());
        CliRun unknown = CliRun.of("init-tiny", "sdxl", dir.resolve("y").toString());
        assertEquals(2, unknown.exitCode());
        assertTrue(unknown.err().contains("unknown backend 'sdxl'"), unknown.err());
    }
}
