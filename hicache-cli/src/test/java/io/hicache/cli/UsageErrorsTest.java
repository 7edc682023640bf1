package io.hicache.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every bad input: exit code 2, one line on stderr that says what is wrong, nothing loaded or written. */
class UsageErrorsTest {
    @TempDir
    Path dir;
    Path model;
    Path prompts;
    Path out;

    @BeforeEach
    void setUp() throws IOException {
        FakeBackend.reset();
        model = FakeBackend.createModel(dir.resolve("model"), 0, 0);
        prompts = Files.writeString(dir.resolve("prompts.txt"), "a\nb\n");
        out = dir.resolve("out");
    }

    /** Runs with good defaults, {@code extra} appended (the last value of an option wins). */
    void expectError(String message, String... extra) {
        List<String> args = new ArrayList<>(List.of("--backend", "fake", "--model-path", model.toString(),
                "--prompt-file", prompts.toString(), "--device", "cpu", "--width", "32", "--height", "32",
                "--output-dir", out.toString()));
        args.addAll(List.of(extra));
        CliRun r = CliRun.of(args.toArray(String[]::new));
        assertEquals(2, r.exitCode(), "exit code for " + List.of(extra) + ": " + r.err());
        assertTrue(r.err().contains(message), "expected '" + message + "' in: " + r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertTrue(FakeBackend.OPENED.isEmpty(), "nothing loaded");
    }

    void expectErrorWithoutOutput(String message, String... extra) {
        expectError(message, extra);
        assertFalse(Files.exists(out), "nothing written for " + List.of(extra));
    }

    @Test
    void promptFiles() throws IOException {
        expectErrorWithoutOutput("prompt file not found: " + dir.resolve("missing.txt"),
                "--prompt-file", dir.resolve("missing.txt").toString());
        expectErrorWithoutOutput("has no prompts", "--prompt-file", Files.writeString(dir.resolve("e.txt"), "").toString());
        expectErrorWithoutOutput("has no prompts", "--prompt-file",
                Files.writeString(dir.resolve("blank.txt"), "\n \n").toString());
        expectErrorWithoutOutput("is a directory", "--prompt-file", dir.toString());
        expectErrorWithoutOutput("is not UTF-8 text", "--prompt-file",
                Files.write(dir.resolve("bin.txt"), new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1}).toString());
        expectErrorWithoutOutput("has no 'Prompt' column", "--prompt-file",
                Files.writeString(dir.resolve("x.tsv"), "Text\nhello\n").toString());
        expectErrorWithoutOutput("--prompt is empty", "--prompt", "  ");
    }

    @Test
    void gpuLists() {
        // --gpus and --device exclude each other, so these runs leave --device out
        for (String[] c : new String[][] {
            {"a", "--gpus: invalid device 'a' in 'a'"},
            {"-1", "--gpus: invalid device '-1'"},
            {"0,0", "--gpus: GPU 0 is listed twice in '0,0'"},
            {"1,x", "--gpus: invalid device 'x'"},
        }) {
            expectErrorWithoutDevice(c[1], "--gpus", c[0]);
        }
        if (io.hicache.core.runtime.HiCacheRuntime.gpuCount() == 0) {
            expectErrorWithoutDevice("--gpus: GPU 0 requested but no GPU is visible to PyTorch", "--gpus", "0");
            expectErrorWithoutDevice("--device gpu: no GPU is visible", "--device", "gpu");
        }
        expectErrorWithoutDevice("give either --gpus or --device, not both", "--gpus", "0", "--device", "cpu");
        expectErrorWithoutDevice("--device 'tpu': use cpu or gpu", "--device", "tpu");
    }

    void expectErrorWithoutDevice(String message, String... extra) {
        List<String> args = new ArrayList<>(List.of("--backend", "fake", "--model-path", model.toString(),
                "--prompt-file", prompts.toString(), "--output-dir", out.toString()));
        args.addAll(List.of(extra));
        CliRun r = CliRun.of(args.toArray(String[]::new));
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains(message), "expected '" + message + "' in: " + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void numbers() {
        expectErrorWithoutOutput("--steps must be >= 1, got 0", "--steps", "0");
        expectErrorWithoutOutput("--width must be a positive multiple of 16, got 100", "--width", "100");
        expectErrorWithoutOutput("--height must be a positive multiple of 16, got 0", "--height", "0");
        expectErrorWithoutOutput("--guidance must be a finite number >= 0, got -1.0", "--guidance", "-1");
        expectErrorWithoutOutput("--guidance must be a finite number >= 0, got NaN", "--guidance", "NaN");
        expectErrorWithoutOutput("--seed must be >= 0, got -1", "--seed", "-1");
        expectErrorWithoutOutput("--limit must be >= 0, got -1", "--limit", "-1");
        expectErrorWithoutOutput("--start-index 2 is past the end of the 2 prompt(s)", "--start-index", "2");
        expectErrorWithoutOutput("--num-images-per-prompt must be >= 1", "--num-images-per-prompt", "0");
        expectErrorWithoutOutput("--workers must be >= 1, got 0", "--workers", "0");
        expectErrorWithoutOutput("--shard 3/2: use k/n with 1 <= k <= n", "--shard", "3/2");
        expectErrorWithoutOutput("--shard 'x': use k/n", "--shard", "x");
        // picocli names an option by its longest name
        expectErrorWithoutOutput("Invalid value for option '--num-steps': 'x' is not an int", "--steps", "x");
        expectErrorWithoutOutput("Invalid value for option '--seed': '1.5' is not a long", "--seed", "1.5");
    }

    @Test
    void namesOfThings() {
        expectErrorWithoutOutput("unknown backend 'nope': available are fake", "--backend", "nope");
        expectErrorWithoutOutput("unknown cache mode 'ToCa': use one of original, FORA, Taylor", "--mode", "ToCa");
        expectErrorWithoutOutput("interval must be >= 1, got 0", "--interval", "0");
        expectErrorWithoutOutput("hicache scale σ must be in (0, 4.0], got 0.0", "--hicache-scale", "0");
        expectErrorWithoutOutput("analytic quantile must be in (0, 1), got 1.5", "--analytic-sigma-q-quantile", "1.5");
        expectErrorWithoutOutput("--dtype: unsupported dtype 'fp16': use float32 or bfloat16", "--dtype", "fp16");
        expectErrorWithoutOutput("--output-type 'gif': use png, latent or both", "--output-type", "gif");
        expectErrorWithoutOutput("Unknown options: '--colour', 'red' (see --help)", "--colour", "red");
        expectErrorWithoutOutput("give either --verbose or --quiet, not both", "--verbose", "--quiet");
    }

    @Test
    void modelPath() throws IOException {
        expectErrorWithoutOutput("fake model directory not found: " + dir.resolve("nowhere") + " (make one with",
                "--model-path", dir.resolve("nowhere").toString());
        Files.delete(model.resolve("transformer.bin"));
        expectErrorWithoutOutput("fake model " + model + " has no transformer.bin (needed for transformer)");
    }

    @Test
    void outputDirectories() throws IOException {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        out = file;
        expectError("output directory " + file + " is not a directory");
        out = file.resolve("below");
        expectError("cannot create output directory " + out);
    }

    @Test
    void verboseAddsTheStackTrace() {
        CliRun r = CliRun.of("--backend", "fake", "--model-path", dir.resolve("nowhere").toString(), "--prompt", "x",
                "--device", "cpu", "--verbose");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().lines().count() > 2 && r.err().contains("at io.hicache.cli.FakeBackend.checkModel"), r.err());
    }
}
