package io.hicache.cli;

import static io.hicache.cli.GenerateTest.assertNoTemporaries;
import static io.hicache.cli.GenerateTest.assertSameFiles;
import static io.hicache.cli.GenerateTest.images;
import static io.hicache.cli.GenerateTest.manifest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** The launcher as its own JVM: killed at any moment, and several shards at once in one directory. */
class ChildProcessTest {
    static final int PROMPTS = 16;

    @TempDir
    Path dir;
    Path model;
    Path prompts;

    @BeforeEach
    void setUp() throws IOException {
        FakeBackend.reset();
        model = FakeBackend.createModel(dir.resolve("model"), 120, 0);
        prompts = Files.writeString(dir.resolve("prompts.txt"),
                IntStream.range(0, PROMPTS).mapToObj(i -> "prompt number " + i).collect(Collectors.joining("\n")));
    }

    List<String> args(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("--backend", "fake", "--model-path", model.toString(),
                "--prompt-file", prompts.toString(), "--device", "cpu", "--width", "64", "--height", "64",
                "--steps", "10", "--output-dir", out.toString()));
        a.addAll(List.of(extra));
        return a;
    }

    Process start(List<String> args, Path log) throws IOException {
        return start(List.of(), args, log);
    }

    /** Starts the launcher, through {@code prefix} (a command that runs its arguments) if not empty. */
    Process start(List<String> prefix, List<String> args, Path log) throws IOException {
        List<String> command = new ArrayList<>(prefix);
        command.addAll(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                "-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true",
                "-cp", System.getProperty("java.class.path"), HiCacheCli.class.getName()));
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("DJL_OFFLINE", "true");
        pb.environment().put("OPT_OUT_TRACKING", "true");
        pb.environment().put("HICACHE_HOME", dir.resolve("hicache-home").toString());
        return pb.start();
    }

    static int finish(Process p, Path log) throws Exception {
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child did not finish; log:\n" + Files.readString(log));
        return p.exitValue();
    }

    static void waitForImages(Path out, int count, Process p, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.isDirectory(out) || images(out).size() < count) {
            assertTrue(p.isAlive(), "child ended early; log:\n" + Files.readString(log));
            assertTrue(System.nanoTime() < deadline, "timed out waiting for images");
            Thread.sleep(20);
        }
    }

    @Test
    void aRunKilledAtAnyMomentAndRerunEndsWithEveryImageOnceAndNothingElse() throws Exception {
        long start = System.nanoTime();
        Path out = dir.resolve("out");
        List<String> run = args(out, "--workers", "2");

        Process first = start(run, dir.resolve("first.log"));
        waitForImages(out, 3, first, dir.resolve("first.log"));
        first.destroyForcibly(); // SIGKILL: no hook, no cleanup, maybe in the middle of a write
        first.waitFor();
        int afterKill = images(out).size();
        assertTrue(afterKill < PROMPTS, "killed before the end");

        Process second = start(run, dir.resolve("second.log"));
        waitForImages(out, afterKill + 3, second, dir.resolve("second.log"));
        second.destroy(); // SIGTERM: the shutdown hook records the interruption
        second.waitFor();
        assertEquals("interrupted", GenerateTest.JSON.readTree(out.resolve("run.json").toFile()).get("status").asText());

        Files.writeString(out.resolve(".img_" + (PROMPTS - 1) + ".png.tmp-4242"), "left by a killed run");
        Process third = start(run, dir.resolve("third.log"));
        assertEquals(0, finish(third, dir.resolve("third.log")), Files.readString(dir.resolve("third.log")));

        assertEquals(IntStream.range(0, PROMPTS).mapToObj(i -> "img_" + i + ".png").sorted().toList(), images(out));
        assertNoTemporaries(out);
        Map<Integer, JsonNode> lines = manifest(out.resolve("manifest.jsonl"));
        assertEquals(PROMPTS, lines.size());
        assertTrue(lines.values().stream().allMatch(n -> n.get("status").asText().equals("ok")));
        JsonNode record = GenerateTest.JSON.readTree(out.resolve("run.json").toFile());
        assertEquals("finished", record.get("status").asText());
        assertTrue(record.get("plan").get("already_done").asInt() >= afterKill + 3);

        // the same images as a run that was never interrupted
        Path reference = dir.resolve("reference");
        Files.writeString(model.resolve("fake.properties"), "delay_ms=0\n");
        assertEquals(0, CliRun.of(args(reference).toArray(String[]::new)).exitCode());
        assertSameFiles(reference, out);
        System.out.printf("kill-and-resume test: %.1f s%n", (System.nanoTime() - start) / 1e9);
    }

    @Test
    void aSignalStopsTheRunWithOneLineOnStderrAndInTheLogAndRunJsonSaysInterrupted() throws Exception {
        Path out = dir.resolve("out");
        Path log = dir.resolve("run.log");
        Process p = start(args(out, "--quiet"), log);
        waitForImages(out, 2, p, log);
        p.destroy(); // SIGTERM, which the JVM handles as it does SIGINT (Ctrl-C)
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the run stops promptly");
        assertEquals(List.of("hicache: interrupted; rerun to resume"), Files.readAllLines(log),
                "with --quiet, the one line is all there is");
        assertEquals(1, Files.readAllLines(out.resolve("hicache.log")).stream()
                .filter(l -> l.contains("WARN") && l.endsWith("interrupted; rerun to resume")).count());
        assertEquals("interrupted", GenerateTest.JSON.readTree(out.resolve("run.json").toFile()).get("status").asText());
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void aFailedWriteNamesTheFileAndStopsTheRun() throws Exception {
        // a file size limit fails writes as a full disk does: with a plain "File too large", no file named
        Path out = dir.resolve("out");
        Path log = dir.resolve("limited.log");
        Process p = start(List.of("bash", "-c", "ulimit -f 64 && exec \"$0\" \"$@\""),
                args(out, "--limit", "3", "--width", "1024", "--height", "1024", "--output-type", "latent", "--quiet"),
                log);
        assertEquals(1, finish(p, log), Files.readString(log));
        String error = "cannot write " + out.resolve("img_0.safetensors") + ": File too large";
        assertTrue(Files.readString(log).endsWith("hicache: " + error + "; the run stopped there, 0 image(s) made; "
                + "fix that and rerun to resume\n"), Files.readString(log));
        Map<Integer, JsonNode> lines = manifest(out.resolve("manifest.jsonl"));
        assertEquals(error, lines.get(0).get("error").asText());
        assertEquals("write-failed", lines.get(0).get("error_kind").asText());
        for (int i = 1; i < 3; i++) {
            assertEquals("not-run", lines.get(i).get("error_kind").asText(), "not made only to fail the same way");
        }
        assertNoTemporaries(out);
        JsonNode record = GenerateTest.JSON.readTree(out.resolve("run.json").toFile());
        assertEquals("failed", record.get("status").asText());
        assertEquals(1, record.get("exit_code").asInt());
    }

    @Test
    void theBuiltInModelGeneratesWithoutLibtorchNnpackWarnings() throws Exception {
        Path log = dir.resolve("tiny.log");
        Process p = start(List.of("--model-path", "builtin:flux-tiny", "--prompt", "a cat", "--device", "cpu",
                "--width", "64", "--height", "64", "--steps", "2", "--output-dir", dir.resolve("tiny").toString(),
                "--quiet"), log);
        assertEquals(0, finish(p, log), Files.readString(log));
        assertTrue(Files.exists(dir.resolve("tiny").resolve("img_0.png")));
        // libtorch 2.7 logs this on every small convolution where NNPACK cannot start (the VAE has many)
        assertEquals(List.of(), Files.readAllLines(log).stream().filter(l -> l.contains("NNPACK")).toList());
    }

    @Test
    void shardsRunConcurrentlyInOneDirectory() throws Exception {
        Path out = dir.resolve("out");
        Process a = start(args(out, "--shard", "1/2"), dir.resolve("a.log"));
        Process b = start(args(out, "--shard", "2/2"), dir.resolve("b.log"));
        assertEquals(0, finish(a, dir.resolve("a.log")), Files.readString(dir.resolve("a.log")));
        assertEquals(0, finish(b, dir.resolve("b.log")), Files.readString(dir.resolve("b.log")));
        assertEquals(PROMPTS, images(out).size());
        assertEquals(PROMPTS / 2, manifest(out.resolve("manifest.shard-1-of-2.jsonl")).size());
        assertEquals(PROMPTS / 2, manifest(out.resolve("manifest.shard-2-of-2.jsonl")).size());
        assertNoTemporaries(out);
    }
}
