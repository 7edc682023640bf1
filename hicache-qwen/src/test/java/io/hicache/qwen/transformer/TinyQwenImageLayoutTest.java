package io.hicache.qwen.transformer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.CheckpointMismatchException;
import io.hicache.core.weights.SafetensorsFile;
import io.hicache.qwen.vae.QwenVaeConfig;
import io.hicache.qwen.vae.QwenVaeDecoder;
import io.hicache.qwen.vae.TinyQwenVae;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tiny writer produces the real repository layout (file names, 9 shards + a consistent index), and the loaders read it. */
class TinyQwenImageLayoutTest {
    @TempDir
    Path dir;

    @Test
    void writesTheRealFileNamesWithAConsistentIndex() throws IOException {
        TinyQwenImage.write(dir, 1);
        for (String f : new String[] {"model_index.json", "scheduler/scheduler_config.json", "transformer/config.json",
            "transformer/diffusion_pytorch_model.safetensors.index.json", "vae/config.json",
            "vae/diffusion_pytorch_model.safetensors"}) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
        JsonNode index = new ObjectMapper().readTree(dir.resolve("transformer")
                .resolve("diffusion_pytorch_model.safetensors.index.json").toFile());
        Set<String> files = new TreeSet<>();
        Set<String> indexed = new HashSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = index.get("weight_map").fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            files.add(e.getValue().asText());
            indexed.add(e.getKey());
        }
        Set<String> expectedFiles = new TreeSet<>();
        for (int k = 1; k <= 9; k++) {
            expectedFiles.add(String.format("diffusion_pytorch_model-%05d-of-00009.safetensors", k));
        }
        assertEquals(expectedFiles, files, "9 shards named k-of-9");
        Set<String> stored = new HashSet<>();
        long bytes = 0;
        for (String f : files) {
            try (SafetensorsFile sf = SafetensorsFile.open(dir.resolve("transformer").resolve(f))) {
                for (String n : sf.names()) {
                    assertEquals(f, index.get("weight_map").get(n).asText(), n + " is where the index says");
                    stored.add(n);
                    bytes += sf.info(n).byteSize();
                }
            }
        }
        assertEquals(indexed, stored, "every indexed tensor is stored, and nothing else");
        assertEquals(QwenImageTransformer.parameterSpec(TinyQwenImage.config()).shapes().keySet(), stored);
        assertEquals(bytes, index.get("metadata").get("total_size").asLong());
        assertEquals(QwenVaeConfig.qwenImage().latentsStd()[3],
                QwenVaeConfig.read(dir.resolve("vae")).latentsStd()[3], "real latent statistics");

        try (NDManager m = NDManager.newBaseManager();
                QwenImageTransformer t = QwenImageTransformer.load(dir, TensorType.BF16, m);
                QwenVaeDecoder vae = QwenVaeDecoder.load(dir, TensorType.F32, m)) {
            assertEquals(TensorType.BF16, t.dtype());
            assertEquals(stored.size(), QwenImageTransformer.parameterSpec(t.config()).size());
            assertEquals(TinyQwenVae.config().toJson(), vae.config().toJson());
        }
    }

    @Test
    void missingPiecesAreNamed() throws IOException {
        TinyQwenImage.writeTransformer(dir.resolve("transformer"), TinyQwenImage.config(), 1, TensorType.F32, 3);
        try (NDManager m = NDManager.newBaseManager()) {
            NoSuchFileException e = assertThrows(NoSuchFileException.class,
                    () -> QwenImageTransformer.load(dir.resolve("elsewhere"), TensorType.F32, m));
            assertTrue(e.getMessage().contains("config.json"), e.getMessage());
            Files.delete(dir.resolve("transformer").resolve("diffusion_pytorch_model-00002-of-00003.safetensors"));
            IOException missingShard = assertThrows(IOException.class,
                    () -> QwenImageTransformer.load(dir, TensorType.F32, m));
            assertTrue(missingShard.getMessage().contains("diffusion_pytorch_model-00002-of-00003.safetensors"),
                    missingShard.getMessage());
            TinyQwenImage.writeTransformer(dir.resolve("other"),
                    new QwenImageConfig(64, 16, 3, 16, 2, 24, new int[] {4, 6, 6}), 1, TensorType.F32, 1);
            Files.copy(dir.resolve("transformer").resolve("config.json"), dir.resolve("other").resolve("config.json"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            CheckpointMismatchException mismatch = assertThrows(CheckpointMismatchException.class,
                    () -> QwenImageTransformer.load(dir.resolve("other"), TensorType.F32, m));
            assertTrue(mismatch.unexpected().contains("transformer_blocks.2.img_mod.1.weight"), mismatch.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> QwenImageTransformer.load(dir.resolve("other"), TensorType.F16, m));
        }
    }
}
