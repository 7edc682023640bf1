package io.hicache.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.testing.IsolatedHicacheHome;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The --backend chipmunk command line (docs/chipmunk.md §9) on the built-in tiny FLUX model. */
@ExtendWith(IsolatedHicacheHome.class)
class ChipmunkCliTest {
    @TempDir
    Path dir;

    private String[] run(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("--model-path", "builtin:flux-tiny", "--device", "cpu", "--dtype",
                "float32", "--steps", "3", "--width", "128", "--height", "128", "--prompt", "a red fox",
                "--output-type", "latent", "--quiet", "--output-dir", out.toString()));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    private void expectUsageError(String message, String... extra) {
        Path out = dir.resolve("never");
        CliRun r = CliRun.of(run(out, extra));
        assertEquals(2, r.exitCode(), r.err());
        assertEquals("hicache: " + message, r.err().strip());
        assertFalse(Files.exists(out), "nothing written for " + List.of(extra));
    }

    @Test
    void badValuesAndMisplacedOptionsExitTwoWithOneLine() throws Exception {
        expectUsageError("--chipmunk-attn-top-keys: attn.top_keys must be in (0, 1], got 1.5", "--backend", "chipmunk",
                "--chipmunk-attn-top-keys", "1.5");
        expectUsageError("--chipmunk-mlp-random-keys: mlp.random_keys must be in [0, 1], got -0.1", "--backend",
                "chipmunk", "--chipmunk-mlp-random-keys", "-0.1");
        expectUsageError("--chipmunk-attn-full-step-every: attn.full_step_every must be >= 1, got 0", "--backend",
                "chipmunk", "--chipmunk-attn-full-step-every", "0");
        expectUsageError("--chipmunk-mlp-is-enabled: mlp.is_enabled must be true or false, got 'maybe'", "--backend",
                "chipmunk", "--chipmunk-mlp-is-enabled", "maybe");
        expectUsageError("--chipmunk-mlp-bm needs --backend chipmunk (the backend is flux)", "--chipmunk-mlp-bm", "64");
        expectUsageError("--mode chipmunk needs --backend chipmunk (the backend is flux)", "--mode", "chipmunk");
        expectUsageError("--width 80 --height 128: patchify needs a token grid in multiples of chunk_size_1 = 8, got "
                + "8×5 tokens (128×80 px): use sizes in multiples of 128 px or turn patchify off", "--backend",
                "chipmunk", "--width", "80");
        Path yaml = Files.writeString(dir.resolve("bad.yml"), "attn:\n  top_keys: 2\n");
        expectUsageError("--chipmunk-config " + yaml + ": attn.top_keys must be in (0, 1], got 2.0", "--backend",
                "chipmunk", "--chipmunk-config", yaml.toString());
    }

    @Test
    void modeChipmunkIsOriginalAndTheSettingsAreRecorded() throws Exception {
        Path a = dir.resolve("a");
        CliRun chipmunk = CliRun.of(run(a, "--backend", "chipmunk", "--mode", "chipmunk"));
        assertEquals(0, chipmunk.exitCode(), chipmunk.err());
        Path b = dir.resolve("b");
        CliRun original = CliRun.of(run(b, "--backend", "chipmunk", "--mode", "original"));
        assertEquals(0, original.exitCode(), original.err());
        assertArrayEquals(Files.readAllBytes(b.resolve("img_0.safetensors")), Files.readAllBytes(a.resolve("img_0.safetensors")));
        JsonNode run = new ObjectMapper().readTree(a.resolve("run.json").toFile());
        JsonNode settings = run.get("backend_settings");
        assertEquals("0.15", settings.get("attn.top_keys").asText());
        assertEquals("true", settings.get("patchify.is_enabled").asText());
        // 3 steps: attention dense at 0 and 1, sparse at 2; the first two layers always dense
        JsonNode image = run.get("backend_metrics_per_image").get("0");
        double attention = image.get("attention_flop_fraction").asDouble();
        assertTrue(attention > 0.3 && attention < 1, image.toString());
        assertTrue(image.get("block_flop_fraction").asDouble() < 1, image.toString());
        assertTrue(image.get("chipmunk_cache_peak_bytes").asDouble() > 0, image.toString());
        JsonNode entry = new ObjectMapper().readTree(Files.readAllLines(a.resolve("manifest.jsonl")).get(0));
        assertEquals(image, entry.get("backend_metrics"));
    }

    /** The backend's step count comes from the model when --steps is absent (once a null crashed the recorder). */
    @Test
    void benchWithTheModelsOwnStepsRecordsPerStepMeasures() throws Exception {
        Path out = dir.resolve("bench-defaults");
        CliRun r = CliRun.of("bench", "--backend", "chipmunk", "--model-path", "builtin:flux-shapes", "--device", "cpu",
                "--prompt", "a red star", "--modes", "original", "--warmup", "0", "--no-site-errors", "--gemm", "64x64",
                "--output-dir", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("sampling: 28 steps (the model's), 128x128 (the model's)"), r.out());
        assertTrue(Files.readString(out.resolve("bench.txt")).contains("block_flop_fraction"));
    }

    @Test
    void benchReportsTheFlopFractionsAndBothCaches() throws Exception {
        Path out = dir.resolve("bench");
        CliRun r = CliRun.of("bench", "--backend", "chipmunk", "--model-path", "builtin:flux-tiny", "--device", "cpu",
                "--prompt", "a fox", "--steps", "4", "--width", "128", "--height", "128", "--modes", "original,HiCache",
                "--intervals", "2", "--warmup", "0", "--no-site-errors", "--gemm", "64x64", "--chipmunk-attn-top-keys",
                "0.3", "--output-dir", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        String table = Files.readString(out.resolve("bench.txt"));
        assertTrue(table.matches("(?s).*backend measures.*\\n  original .*attention_flop_fraction 0\\.\\d+.*"
                + "chipmunk_cache_peak \\d+\\.\\d MiB  hicache_cache_peak 0\\.0 MiB\\n  HiCache.*"), table);
        CliRun flux = CliRun.of("bench", "--chipmunk-attn-top-keys", "0.3", "--prompt", "x", "--output-dir",
                out.toString());
        assertEquals(2, flux.exitCode());
        assertEquals("hicache: --chipmunk-attn-top-keys needs --backend chipmunk (the backend is flux)",
                flux.err().strip());
    }

    @Test
    void configFileInChipmunksLayoutWithFlagsWinning() throws Exception {
        Path yaml = Files.writeString(dir.resolve("chipmunk-config.yml"), String.join("\n",
                "# Chipmunk's layout", "attn:", "  is_enabled: true", "  top_keys: 0.5", "  full_step_schedule: [0, 2]",
                "  provider: triton", "mlp:", "  top_keys: 0.4  # neurons", "  mbm: 64", "patchify:",
                "  is_enabled: false", "offloading:", "  global_disable_offloading: true", "steps: 50", ""));
        Path out = dir.resolve("out");
        CliRun r = CliRun.of(run(out, "--backend", "chipmunk", "--mode", "chipmunk", "--chipmunk-config",
                yaml.toString(), "--chipmunk-mlp-top-keys", "0.25", "--width", "80"));
        assertEquals(0, r.exitCode(), r.err());
        JsonNode s = new ObjectMapper().readTree(out.resolve("run.json").toFile()).get("backend_settings");
        assertEquals("0.5", s.get("attn.top_keys").asText());
        assertEquals("0,2", s.get("attn.full_step_schedule").asText());
        assertEquals("0.25", s.get("mlp.top_keys").asText(), "the flag wins over the file");
        assertEquals("64", s.get("mlp.bm").asText());
        assertEquals("false", s.get("patchify.is_enabled").asText(), "so 80 px is fine");
    }

    @Test
    void flatYamlReadsNestedMapsListsAndComments() {
        assertEquals(Map.of("attn.top_keys", "0.15", "attn.full_step_schedule", "none", "mlp.list", "1,2",
                "mlp.flow", "3,4", "mlp.empty", "none", "name", "x # y"), FlatYaml.parse(List.of("attn:",
                "  top_keys: 0.15 # kept", "  full_step_schedule: null", "mlp:", "  list:", "    - 1", "    - 2",
                "  flow: [3, 4]", "  empty:", "", "name: 'x # y'"), "f"));
        UsageException e = org.junit.jupiter.api.Assertions.assertThrows(UsageException.class,
                () -> FlatYaml.parse(List.of("attn:", "  top_keys 0.15"), "f.yml"));
        assertEquals("f.yml: line 2: expected 'key: value', got 'top_keys 0.15'", e.getMessage());
    }
}
