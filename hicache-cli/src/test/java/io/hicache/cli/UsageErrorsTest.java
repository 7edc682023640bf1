package io.hicache.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.SafetensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
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

    /** Issue 10, defect 2: text that no image can carry is refused up front, with the file and line. */
    @Test
    void controlCharactersInPrompts() throws IOException {
        Path nul = Files.writeString(dir.resolve("nul.txt"), "a cat\nb\0d\n");
        expectErrorWithoutOutput("prompt file " + nul + " line 2 contains the control character U+0000 (NUL): "
                + "prompts must be UTF-8 text (is it UTF-16?)", "--prompt-file", nul.toString());
        Path utf16 = Files.write(dir.resolve("utf16.txt"), "a cat\na dog\n".getBytes(StandardCharsets.UTF_16LE));
        expectErrorWithoutOutput("prompt file " + utf16 + " line 1 contains the control character U+0000 (NUL)",
                "--prompt-file", utf16.toString());
        Path tsv = Files.writeString(dir.resolve("p.tsv"), "Prompt\tCategory\nok\tx\nbell\u0007\ty\n");
        expectErrorWithoutOutput("prompt file " + tsv + " line 3 contains the control character U+0007: prompts must be "
                + "plain text", "--prompt-file", tsv.toString());
        expectErrorWithoutOutput("--prompt contains the control character U+001B", "--prompt", "red \u001b[31m");
        expectErrorWithoutOutput("--negative-prompt contains the control character U+0000", "--negative-prompt", "a\0");
    }

    /** Issue 10, defect 9: an empty path (an unset variable in a script) is not the current directory. */
    @Test
    void emptyPathsAreRefused() {
        for (String option : new String[] {"--output-dir", "--model-path", "--prompt-file", "--prompt-embeds",
            "--init-noise"}) {
            expectErrorWithoutOutput("hicache: Invalid value for option '" + option + "': the path is empty (see --help)",
                    option, "");
        }
        expectErrorWithoutOutput("Invalid value for option '--output-dir': the path is empty", "--output_dir", " ");
        for (String[] sub : new String[][] {
            {"encode-prompts", "--prompt", "x", "--output", ""},
            {"encode-prompts", "--prompt", "x", "--output", "E.safetensors", "--model-path", ""},
            {"bench", "--prompt", "x", "--output-dir", ""},
            {"replay", "--trajectory", ""},
            {"init-tiny", "flux", ""},
        }) {
            CliRun r = CliRun.of(sub);
            assertEquals(2, r.exitCode(), r.err());
            assertTrue(r.err().startsWith("hicache: Invalid value for "), r.err());
            assertTrue(r.err().strip().endsWith("the path is empty (see hicache " + sub[0] + " --help)"), r.err());
        }
    }

    /** Issue 10, defect 16: every command's errors start with "hicache:", say what is wrong and name the path. */
    @Test
    void subcommandErrorsSayHicacheWhatAndWhere() throws IOException {
        CliRun missing = CliRun.of("replay");
        assertEquals(2, missing.exitCode());
        assertEquals("hicache: Missing required option: '--trajectory=FILE' (see hicache replay --help)",
                missing.err().strip());
        CliRun tiny = CliRun.of("init-tiny");
        assertTrue(tiny.err().startsWith("hicache: Missing required parameters: 'BACKEND', 'DIR'"), tiny.err());

        CliRun trajectory = CliRun.of("replay", "--trajectory", dir.toString());
        assertEquals(2, trajectory.exitCode());
        assertEquals("hicache: --trajectory: " + dir + " is a directory, not a file", trajectory.err().strip());
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        CliRun bench = CliRun.of("bench", "--prompt", "x", "--output-dir", file.toString());
        assertEquals(2, bench.exitCode());
        assertEquals("hicache: --output-dir: " + file + " exists and is not a directory", bench.err().strip());
        CliRun below = CliRun.of("bench", "--prompt", "x", "--output-dir", file.resolve("below").toString());
        assertEquals("hicache: --output-dir: cannot make " + file.resolve("below") + ": " + file + " is not a directory",
                below.err().strip());
        CliRun encode = CliRun.of("encode-prompts", "--prompt", "x", "--output", file.resolve("E.safetensors").toString());
        assertEquals("hicache: --output: cannot make " + file.resolve("E.safetensors") + ": " + file
                + " is not a directory", encode.err().strip());
        CliRun scale = CliRun.of("bench", "--prompt", "x", "--intervals", "0", "--output-dir", out.toString());
        assertEquals("hicache: --interval must be >= 1, got 0", scale.err().strip(), "--intervals is the same option");
        CliRun order = CliRun.of("replay", "--trajectory", file.toString(), "--first-enhance", "0");
        assertEquals("hicache: --first-enhance must be >= 1, got 0", order.err().strip());
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
        expectErrorWithoutOutput("--width 100000 is too large: at most 8192 pixels", "--width", "100000");
        expectErrorWithoutOutput("--height 8208 is too large: at most 8192 pixels", "--height", "8208");
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
        // the options' own names (issue 10, defect 16)
        expectErrorWithoutOutput("hicache: --interval must be >= 1, got 0", "--interval", "0");
        expectErrorWithoutOutput("hicache: --first-enhance must be >= 1, got 0", "--first-enhance", "0");
        expectErrorWithoutOutput("hicache: --max-order must be in 0..8, got 9", "--max-order", "9");
        expectErrorWithoutOutput("hicache: --hicache-scale must be in (0, 4.0], got 0.0", "--hicache-scale", "0");
        expectErrorWithoutOutput("hicache: --analytic-sigma-q-quantile must be in (0, 1), got 1.5",
                "--analytic-sigma-q-quantile", "1.5");
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

    /** Issue 10, defect 5: embeddings and noise that do not fit the model are refused before it loads. */
    @Test
    void embeddingsAndNoiseOfTheWrongShape() throws IOException {
        Path narrow = dir.resolve("narrow.safetensors");
        new SafetensorsWriter().add("prompt_embeds", TensorType.F32, new long[] {2, 2, 7}, floats(28))
                .add("pooled_prompt_embeds", TensorType.F32, new long[] {2, 3}, floats(6)).write(narrow);
        expectErrorWithoutOutput("--prompt-embeds: prompt_embeds of " + narrow + " are 7 wide [2, 2, 7], but the model "
                + model + " takes 8", "--prompt-embeds", narrow.toString());
        Path unpooled = dir.resolve("unpooled.safetensors");
        new SafetensorsWriter().add("prompt_embeds", TensorType.F32, new long[] {2, 2, 8}, floats(32)).write(unpooled);
        expectErrorWithoutOutput("--prompt-embeds: " + unpooled + " has no pooled_prompt_embeds, which the model " + model
                + " needs ([B, 3])", "--prompt-embeds", unpooled.toString());
        Path pooled5 = dir.resolve("pooled5.safetensors");
        new SafetensorsWriter().add("prompt_embeds", TensorType.F32, new long[] {2, 2, 8}, floats(32))
                .add("pooled_prompt_embeds", TensorType.F32, new long[] {2, 5}, floats(10)).write(pooled5);
        expectErrorWithoutOutput("--prompt-embeds: pooled_prompt_embeds of " + pooled5 + " are 5 wide [2, 5]",
                "--prompt-embeds", pooled5.toString());
        expectErrorWithoutOutput("--prompt-embeds: " + dir + " is a directory", "--prompt-embeds", dir.toString());

        Path noise = dir.resolve("noise.safetensors");
        new SafetensorsWriter().add("latents", TensorType.F32, new long[] {2, 16, 4, 4}, floats(512)).write(noise);
        expectErrorWithoutOutput("--init-noise: " + noise + " holds latents with 16 channels ([2, 16, 4, 4]), but the "
                + "model's have 4", "--init-noise", noise.toString());
        expectErrorWithoutOutput("--init-noise: " + noise + " holds latents of 32x32 images ([2, 16, 4, 4]), but this "
                + "run makes 64x32", "--init-noise", noise.toString(), "--width", "64");
    }

    static ByteBuffer floats(int n) {
        return ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
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

    /** One definition of the cache parameters: generate takes one value, bench and replay lists. */
    @Test
    void cacheParametersTakeOneValueWhenGeneratingAndListsWhenComparing() {
        CliRun generate = CliRun.of("--prompt", "x", "--interval", "3,5");
        assertEquals(2, generate.exitCode());
        assertEquals("hicache: --interval takes one value here, got '3,5' (lists are for hicache bench and hicache "
                + "replay --sweep)", generate.err().strip());
        CliRun bad = CliRun.of("--prompt", "x", "--hicache-scale", "big");
        assertEquals("hicache: --hicache-scale: 'big' is not a number", bad.err().strip());
        BenchCommand bench = new BenchCommand();
        new picocli.CommandLine(bench).parseArgs("--prompt", "x", "--modes", "FORA,HiCache", "--max-order", "1");
        assertEquals(java.util.List.of("FORA_i3_fe3", "FORA_i5_fe3", "FORA_i7_fe3", "HiCache_i3_o1_fe3_s0.5",
                "HiCache_i5_o1_fe3_s0.5", "HiCache_i7_o1_fe3_s0.5"),
                bench.configs().stream().map(io.hicache.core.cache.CacheConfig::tag).toList(),
                "bench compares intervals 3, 5, 7 unless told otherwise");
        BenchCommand four = new BenchCommand();
        new picocli.CommandLine(four).parseArgs("--prompt", "x", "--modes", "Taylor", "--intervals", "4");
        assertEquals(java.util.List.of("Taylor_i4_o2_fe3"),
                four.configs().stream().map(io.hicache.core.cache.CacheConfig::tag).toList());
    }
}
