package io.hicache.core.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MissingFilesTest {
    @TempDir
    Path dir;

    @Test
    void namesEveryMissingFileAndWeightFolderOnce() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        Path sharded = Files.createDirectories(dir.resolve("sharded"));
        Files.writeString(sharded.resolve("model.safetensors.index.json"), "{}");
        Path config = Files.writeString(dir.resolve("config.json"), "{}");
        List<String> missing = new MissingFiles()
                .file(config, "config")
                .file(dir.resolve("scheduler_config.json"), "scheduler config")
                .weights(empty, "VAE weights")
                .weights(sharded, "transformer weights")
                .weights(dir.resolve("absent"), "text encoder weights")
                .list();
        assertEquals(List.of("scheduler config (" + dir.resolve("scheduler_config.json") + ")",
                "VAE weights (" + empty + "/*.safetensors)",
                "text encoder weights (" + dir.resolve("absent") + "/*.safetensors)"), missing);
    }
}
