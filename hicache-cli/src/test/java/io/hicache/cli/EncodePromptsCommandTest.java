package io.hicache.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.weights.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code hicache encode-prompts} on the fake backend. */
class EncodePromptsCommandTest {
    @TempDir
    Path dir;
    Path model;

    @BeforeEach
    void setUp() throws Exception {
        FakeBackend.reset();
        model = FakeBackend.createModel(dir.resolve("model"), 0, 0);
    }

    CliRun encode(String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("encode-prompts", "--backend", "fake", "--model-path",
                model.toString(), "--device", "cpu"));
        args.addAll(List.of(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    /** Issue 10, defect 10: an existing file is replaced only with --overwrite, the prompt file never. */
    @Test
    void refusesToReplaceAFileUnlessAskedAndNeverThePromptFile() throws Exception {
        Path existing = Files.writeString(dir.resolve("E.safetensors"), "keep me");
        CliRun r = encode("--prompt", "a fox", "--output", existing.toString());
        assertEquals(2, r.exitCode(), r.err());
        assertEquals("hicache: --output " + existing + " exists; add --overwrite to replace it", r.err().strip());
        assertEquals("keep me", Files.readString(existing));
        assertTrue(FakeBackend.OPENED.isEmpty(), "nothing loaded");

        CliRun replaced = encode("--prompt", "a fox", "--output", existing.toString(), "--overwrite");
        assertEquals(0, replaced.exitCode(), replaced.err());
        try (SafetensorsFile f = SafetensorsFile.open(existing)) {
            assertEquals(List.of("a fox"), List.of(new ObjectMapper().readValue(f.metadata().get("prompts"), String[].class)));
        }

        Path prompts = Files.writeString(dir.resolve("prompts.txt"), "a fox\na cat\n");
        for (String output : new String[] {prompts.toString(), dir.resolve(".").resolve("prompts.txt").toString()}) {
            CliRun self = encode("--prompt-file", prompts.toString(), "--output", output, "--overwrite");
            assertEquals(2, self.exitCode(), self.err());
            assertTrue(self.err().contains("is the prompt file; write the embeddings elsewhere"), self.err());
        }
        assertEquals("a fox\na cat\n", Files.readString(prompts));

        CliRun toDirectory = encode("--prompt", "a fox", "--output", dir.toString(), "--overwrite");
        assertEquals(2, toDirectory.exitCode(), toDirectory.err());
        assertEquals("hicache: --output: " + dir + " is a directory; give a file name", toDirectory.err().strip());
        assertTrue(FakeBackend.OPENED.size() == 1, "only the --overwrite run loaded the encoders");
    }
}
