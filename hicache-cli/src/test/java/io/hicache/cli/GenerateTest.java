package io.hicache.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.PipelineSpec.Component;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.SafetensorsFile;
import io.hicache.core.weights.SafetensorsWriter;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** End-to-end runs of the generate command, in-process, on the fake backend. */
class GenerateTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    Path model;
    Path prompts;

    @BeforeEach
    void setUp() throws IOException {
        FakeBackend.reset();
        model = FakeBackend.createModel(dir.resolve("model"), 0, 0);
        prompts = Files.writeString(dir.resolve("prompts.txt"), "a red car\na blue bird\n\na green tree\n");
    }

    CliRun generate(Path out, String... extra) {
        return generate(prompts, out, extra);
    }

    CliRun generate(Path promptFile, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("--backend", "fake", "--model-path", model.toString(),
                "--prompt-file", promptFile.toString(), "--device", "cpu", "--width", "64", "--height", "48",
                "--steps", "10", "--output-dir", out.toString()));
        args.addAll(List.of(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    static Map<Integer, JsonNode> manifest(Path file) throws IOException {
        Map<Integer, JsonNode> byIndex = new TreeMap<>();
        for (String line : Files.readAllLines(file)) {
            JsonNode n = JSON.readTree(line);
            assertNull(byIndex.put(n.get("index").asInt(), n), "one line per image: " + line);
        }
        return byIndex;
    }

    static List<String> fileNames(Path out) throws IOException {
        try (var s = Files.list(out)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    static List<String> images(Path out) throws IOException {
        return fileNames(out).stream().filter(n -> n.startsWith("img_")).collect(Collectors.toList());
    }

    static void assertNoTemporaries(Path out) throws IOException {
        assertTrue(fileNames(out).stream().noneMatch(n -> n.contains(".tmp-")), fileNames(out).toString());
    }

    static void assertSameFiles(Path a, Path b) throws IOException {
        assertEquals(images(a), images(b));
        for (String name : images(a)) {
            assertArrayEquals(Files.readAllBytes(a.resolve(name)), Files.readAllBytes(b.resolve(name)), name);
        }
    }

    static int[] pixels(Path png) throws IOException {
        BufferedImage image = ImageIO.read(png.toFile());
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }

    @Test
    void writesImagesWithParametersManifestRunRecordAndLog() throws IOException {
        Path out = dir.resolve("out");
        CliRun r = generate(out, "--seed", "42");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(List.of(".hicache.lock", "hicache.log", "img_0.png", "img_1.png", "img_2.png", "manifest.jsonl",
                "run.json"), fileNames(out));

        JsonNode p = JSON.readTree(OutputFiles.readPngParameters(out.resolve("img_2.png")));
        assertEquals("a green tree", p.get("prompt").asText());
        assertEquals(44, p.get("seed").asLong());
        assertEquals(10, p.get("steps").asInt());
        assertEquals("HiCache_i7_o2_fe3_s0.5", p.get("cache").asText());
        assertEquals("float32", p.get("dtype").asText());
        BufferedImage image = ImageIO.read(out.resolve("img_2.png").toFile());
        assertEquals(64, image.getWidth());
        assertEquals(48, image.getHeight());
        // what image viewers show: A1111-style parameters plus one chunk per field
        io.hicache.core.image.GenerationParameters shown = io.hicache.core.image.GenerationParameters.fromPngText(
                io.hicache.core.image.PngReader.readText(out.resolve("img_2.png")));
        assertEquals("a green tree", shown.prompt());
        assertEquals(44, shown.seed());
        assertEquals(10, shown.steps());
        assertEquals("HiCache", shown.mode());
        assertEquals("HiCache_i7_o2_fe3_s0.5", shown.cache());
        assertEquals("fake", shown.extra().get("backend"));
        assertTrue(io.hicache.core.image.PngReader.readText(out.resolve("img_2.png")).get("parameters")
                .startsWith("a green tree\nSteps: 10, Seed: 44"));

        Map<Integer, JsonNode> m = manifest(out.resolve("manifest.jsonl"));
        assertEquals(Set.of(0, 1, 2), m.keySet());
        JsonNode e = m.get(1);
        assertEquals("a blue bird", e.get("prompt").asText());
        assertEquals(43, e.get("seed").asLong());
        assertEquals("ok", e.get("status").asText());
        assertTrue(e.has("error") && e.get("error").isNull());
        assertEquals("img_1.png", e.get("file").asText());
        assertEquals(Files.size(out.resolve("img_1.png")), e.get("files").get("img_1.png").asLong());
        assertEquals("cpu", e.get("device").asText());
        assertEquals("cpu#0", e.get("worker").asText());
        assertEquals(4, e.get("full_steps").asInt(), "steps 0,1,2 and 9 of 10 with N=7, fe=3");
        assertEquals(6, e.get("forecast_steps").asInt());
        assertTrue(e.get("cache_bytes").asLong() > 0);
        assertTrue(e.get("seconds").asDouble() >= 0);

        JsonNode run = JSON.readTree(out.resolve("run.json").toFile());
        assertEquals("finished", run.get("status").asText());
        assertEquals(0, run.get("exit_code").asInt());
        assertEquals(3, run.get("totals").get("ok").asInt());
        assertEquals("0.36.0", run.get("versions").get("djl").asText());
        assertTrue(run.get("versions").get("engine").asText().startsWith("PyTorch"));
        assertEquals(3, run.get("per_device").get("cpu").get("ok").asInt());
        assertTrue(run.get("totals").get("images_per_minute").asDouble() > 0);
        assertEquals(42, run.get("options").get("seed").asLong());
        assertEquals("[\"TEXT_ENCODERS\",\"TRANSFORMER\",\"VAE\"]", run.get("components").toString());
        assertTrue(Files.readString(out.resolve("hicache.log")).contains("img_2 ok"));
        assertNoTemporaries(out);
    }

    @Test
    void twoWorkersMakeExactlyTheImagesOfOneAndEncodeEachPromptOnce() throws IOException {
        Files.writeString(model.resolve("fake.properties"), "delay_ms=15\n");
        Path many = Files.writeString(dir.resolve("many.txt"),
                "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n");
        Path single = dir.resolve("single");
        assertEquals(0, generate(many, single, "--num-images-per-prompt", "2").exitCode());
        assertEquals(16, FakeBackend.ENCODES.get(), "one worker: the pipeline encodes per image");

        FakeBackend.reset();
        Path multi = dir.resolve("multi");
        CliRun r = generate(many, multi, "--num-images-per-prompt", "2", "--workers", "2");
        assertEquals(0, r.exitCode(), r.err());
        assertSameFiles(single, multi);
        assertEquals(8, FakeBackend.ENCODES.get(), "shared encoder: once per prompt");
        List<Set<Component>> opened = FakeBackend.OPENED.stream().map(PipelineSpec::components).toList();
        assertEquals(1, opened.stream().filter(c -> c.equals(Set.of(Component.TEXT_ENCODERS))).count(), opened.toString());
        assertEquals(2, opened.stream().filter(c -> c.equals(Set.of(Component.TRANSFORMER, Component.VAE))).count());
        Set<String> workers = manifest(multi.resolve("manifest.jsonl")).values().stream()
                .map(n -> n.get("worker").asText()).collect(Collectors.toSet());
        assertEquals(Set.of("cpu#0", "cpu#1"), workers, "both workers pulled from the queue");
        JsonNode run = JSON.readTree(multi.resolve("run.json").toFile());
        assertEquals(8, run.get("encoder").get("prompts_encoded").asInt());
        assertEquals(2, run.get("workers").size());

        FakeBackend.reset();
        Path perWorker = dir.resolve("per-worker");
        assertEquals(0, generate(many, perWorker, "--num-images-per-prompt", "2", "--workers", "2",
                "--no-shared-encoder").exitCode());
        assertSameFiles(single, perWorker);
        assertEquals(16, FakeBackend.ENCODES.get());
    }

    @Test
    void workersAreCappedAtTheImagesToMakeWithAWarningWhenTheyOutnumberTheCores() throws IOException {
        int images = Runtime.getRuntime().availableProcessors() + 1;
        Path many = Files.writeString(dir.resolve("many.txt"), java.util.stream.IntStream.range(0, images)
                .mapToObj(i -> "prompt " + i).collect(Collectors.joining("\n")));
        Path out = dir.resolve("out");
        CliRun r = generate(many, out, "--workers", "64");
        assertEquals(0, r.exitCode(), r.err());
        // a worker that starts after the others emptied the queue loads nothing: at most one replica per image
        long replicas = FakeBackend.OPENED.stream().filter(s -> s.has(Component.TRANSFORMER)).count();
        assertTrue(replicas >= 1 && replicas <= images, replicas + " replicas for " + images + " images, not 64");
        JsonNode record = JSON.readTree(out.resolve("run.json").toFile());
        assertEquals(images, record.get("workers_per_device").asInt());
        assertEquals(images, record.get("workers").size());
        List<String> warnings = Files.readAllLines(out.resolve("hicache.log")).stream()
                .filter(l -> l.contains(" WARN ") && l.contains("--workers 64")).toList();
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains(images + " CPU workers share " + (images - 1) + " cores"), warnings.get(0));
    }

    @Test
    void shardsTogetherAreTheUnshardedRunWithTheSameNamesAndSeeds() throws IOException {
        Path whole = dir.resolve("whole");
        assertEquals(0, generate(whole, "--num-images-per-prompt", "3", "--seed", "5").exitCode());
        Path sharded = dir.resolve("sharded");
        for (String shard : List.of("1/3", "2/3", "3/3")) {
            CliRun r = generate(sharded, "--num-images-per-prompt", "3", "--seed", "5", "--shard", shard);
            assertEquals(0, r.exitCode(), r.err());
        }
        assertSameFiles(whole, sharded);
        Map<Integer, JsonNode> second = manifest(sharded.resolve("manifest.shard-2-of-3.jsonl"));
        assertEquals(Set.of(1, 4, 7), second.keySet());
        assertEquals(5 + 4, second.get(4).get("seed").asLong());
        assertTrue(Files.exists(sharded.resolve("run.shard-3-of-3.json")));
        assertTrue(Files.exists(sharded.resolve("hicache.shard-1-of-3.log")));
    }

    @Test
    void failedImagesAreRecordedTheRunGoesOnAndARerunRedoesOnlyThem() throws IOException {
        Path list = Files.writeString(dir.resolve("mixed.txt"),
                "fine one\nplease FAIL\nNAN latents\nan OOM\nCUDAOOM here\nFLAKY once\nfine two\n");
        Files.writeString(model.resolve("flaky"), "");
        Path out = dir.resolve("out");
        CliRun r = generate(list, out);
        assertEquals(1, r.exitCode(), r.err());
        assertTrue(r.err().contains("5 image(s) failed (see manifest.jsonl)"), r.err());
        Map<Integer, JsonNode> m = manifest(out.resolve("manifest.jsonl"));
        assertEquals("ok", m.get(0).get("status").asText());
        assertEquals("ok", m.get(6).get("status").asText());
        assertEquals("exception", m.get(1).get("error_kind").asText());
        assertTrue(m.get(1).get("error").asText().contains("simulated failure"), m.get(1).toString());
        assertEquals("non-finite", m.get(2).get("error_kind").asText());
        assertEquals("out-of-memory", m.get(3).get("error_kind").asText());
        assertEquals("out-of-memory", m.get(4).get("error_kind").asText());
        assertEquals("exception", m.get(5).get("error_kind").asText());
        assertEquals(List.of("img_0.png", "img_6.png"), images(out));
        JsonNode run = JSON.readTree(out.resolve("run.json").toFile());
        assertEquals(1, run.get("exit_code").asInt());
        assertEquals(5, run.get("failures").size());

        // the flaky prompt's cause is gone: only the failed images are attempted again
        Files.delete(model.resolve("flaky"));
        byte[] before = Files.readAllBytes(out.resolve("img_0.png"));
        String okLine = Files.readAllLines(out.resolve("manifest.jsonl")).get(0);
        CliRun again = generate(list, out);
        assertEquals(1, again.exitCode(), again.err());
        assertTrue(again.err().contains("4 image(s) failed"), again.err());
        Map<Integer, JsonNode> m2 = manifest(out.resolve("manifest.jsonl"));
        assertEquals("ok", m2.get(5).get("status").asText());
        assertEquals(okLine, Files.readAllLines(out.resolve("manifest.jsonl")).get(0), "img_0 untouched");
        assertArrayEquals(before, Files.readAllBytes(out.resolve("img_0.png")));
        JsonNode plan = JSON.readTree(out.resolve("run.json").toFile()).get("plan");
        assertEquals(2, plan.get("already_done").asInt());
        assertEquals(5, plan.get("to_make").asInt());
    }

    @Test
    void aWorkerWhosePipelineDiesIsReplacedOnceThenItsShareIsLeftToOthers() throws IOException {
        Path list = Files.writeString(dir.resolve("die.txt"), "a\nDIE now\nb\nc\n");
        Path out = dir.resolve("out");
        CliRun r = generate(list, out);
        assertEquals(1, r.exitCode(), r.err());
        Map<Integer, JsonNode> m = manifest(out.resolve("manifest.jsonl"));
        assertEquals("worker-died", m.get(1).get("error_kind").asText());
        assertEquals(List.of("ok", "failed", "ok", "ok"), m.values().stream().map(n -> n.get("status").asText()).toList());
        assertEquals(2, FakeBackend.OPENED.size(), "first pipeline and its replacement");

        // a second death: no replacement left, the rest is recorded as not run
        FakeBackend.reset();
        Path twice = Files.writeString(dir.resolve("twice.txt"), "DIE 1\nDIE 2\nx\ny\n");
        Path out2 = dir.resolve("out2");
        CliRun r2 = generate(twice, out2);
        assertEquals(1, r2.exitCode(), r2.err());
        Map<Integer, JsonNode> m2 = manifest(out2.resolve("manifest.jsonl"));
        assertEquals(List.of("worker-died", "worker-died", "not-run", "not-run"),
                m2.values().stream().map(n -> n.get("error_kind").asText()).toList());
        assertEquals(4, JSON.readTree(out2.resolve("run.json").toFile()).get("failures").size());
    }

    @Test
    void loadFailuresAreRetriedOnceAndExit2WhenNoWorkerCanLoad() throws IOException {
        Path flaky = FakeBackend.createModel(dir.resolve("flaky-model"), 0, 1);
        Path out = dir.resolve("out");
        CliRun r = CliRun.of("--backend", "fake", "--model-path", flaky.toString(), "--prompt", "x", "--device", "cpu",
                "--width", "32", "--height", "32", "--output-dir", out.toString());
        assertEquals(0, r.exitCode(), r.err());

        Path broken = FakeBackend.createModel(dir.resolve("broken-model"), 0, 2);
        Path out2 = dir.resolve("out2");
        CliRun r2 = CliRun.of("--backend", "fake", "--model-path", broken.toString(), "--prompt", "x", "--device", "cpu",
                "--width", "32", "--height", "32", "--output-dir", out2.toString());
        assertEquals(2, r2.exitCode(), r2.err());
        assertTrue(r2.err().contains("no worker could load the model on [cpu]: simulated load failure 1"), r2.err());
        assertEquals("not-run", manifest(out2.resolve("manifest.jsonl")).get(0).get("error_kind").asText());
        assertEquals("failed", JSON.readTree(out2.resolve("run.json").toFile()).get("status").asText());
    }

    /** --encode-first: every prompt is encoded and the text encoders are closed before the denoiser loads. */
    @Test
    void encodeFirstFreesTheTextEncodersBeforeTheDenoiserLoads() throws IOException {
        Path out = dir.resolve("out");
        CliRun r = generate(out, "--encode-first");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(List.of("open [TEXT_ENCODERS]", "close [TEXT_ENCODERS]", "open [TRANSFORMER, VAE]",
                "close [TRANSFORMER, VAE]"), FakeBackend.EVENTS);
        Path plain = dir.resolve("plain");
        assertEquals(0, generate(plain).exitCode());
        assertEquals(images(plain), images(out));
        for (String name : images(out)) {
            assertArrayEquals(Files.readAllBytes(plain.resolve(name)), Files.readAllBytes(out.resolve(name)), name);
        }
    }

    @Test
    void aLoadFailureFromAnInvalidModelIsNotRetried() throws IOException {
        Path invalid = FakeBackend.createModel(dir.resolve("invalid-model"), 0, 5);
        Files.writeString(invalid.resolve("fake.properties"), "fail_loads=5\ninvalid_model=true\n");
        Path out = dir.resolve("out");
        CliRun r = CliRun.of("--backend", "fake", "--model-path", invalid.toString(), "--prompt", "x", "--prompt", "y",
                "--device", "cpu", "--workers", "2", "--no-shared-encoder", "--width", "32", "--height", "32",
                "--output-dir", out.toString());
        assertEquals(2, r.exitCode(), r.err());
        // the two workers load at the same time: either one's failure may be the one reported
        assertTrue(r.err().matches("(?s).*simulated invalid model \\(load [12]\\).*"), r.err());
        assertFalse(r.err().contains("attempt"), r.err());
        assertFalse(r.err().contains("(load 3)"), "no worker loads again after a permanent failure: " + r.err());
    }

    @Test
    void memoryExhaustionIsRecordedAsOutOfMemoryHoweverItIsReported() throws IOException {
        Path list = Files.writeString(dir.resolve("oom.txt"), "CPUALLOC big\nWRAPPED heap\nplease FAIL\n");
        Path out = dir.resolve("out");
        CliRun r = generate(list, out);
        assertEquals(1, r.exitCode(), r.err());
        Map<Integer, JsonNode> m = manifest(out.resolve("manifest.jsonl"));
        assertEquals("out-of-memory", m.get(0).get("error_kind").asText(), m.get(0).toString());
        assertEquals("out-of-memory", m.get(1).get("error_kind").asText(), m.get(1).toString());
        assertEquals("exception", m.get(2).get("error_kind").asText());
    }

    @Test
    void latentOutputNeedsNoVaeAndWritesSafetensors() throws IOException {
        Files.delete(model.resolve("vae.bin"));
        Path out = dir.resolve("out");
        CliRun png = generate(out);
        assertEquals(2, png.exitCode());
        assertTrue(png.err().contains("has no vae.bin"), png.err());

        CliRun r = generate(out, "--output-type", "latent");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(List.of("img_0.safetensors", "img_1.safetensors", "img_2.safetensors"), images(out));
        assertEquals(Set.of(Component.TEXT_ENCODERS, Component.TRANSFORMER), FakeBackend.OPENED.get(0).components());
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("img_1.safetensors"))) {
            assertEquals(TensorType.F32, f.info("latents").type());
            assertArrayEquals(new long[] {1, FakeBackend.CHANNELS, 6, 8}, f.info("latents").shapeArray());
            assertEquals(1, JSON.readTree(f.metadata().get("parameters")).get("seed").asInt());
        }
        assertEquals("img_1.safetensors", manifest(out.resolve("manifest.jsonl")).get(1).get("file").asText());
    }

    @Test
    void bothOutputsAndSwitchingToBothRedoesImagesThatLackLatents() throws IOException {
        Path out = dir.resolve("out");
        assertEquals(0, generate(out).exitCode());
        FakeBackend.reset();
        CliRun r = generate(out, "--output-type", "both");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(List.of("img_0.png", "img_0.safetensors", "img_1.png", "img_1.safetensors", "img_2.png",
                "img_2.safetensors"), images(out));
        assertEquals(1, FakeBackend.OPENED.size());
        JsonNode e = manifest(out.resolve("manifest.jsonl")).get(0);
        assertEquals(Set.of("img_0.png", "img_0.safetensors"), fieldNames(e.get("files")));
        FakeBackend.reset();
        assertEquals(0, generate(out, "--output-type", "both").exitCode());
        assertEquals(0, FakeBackend.OPENED.size(), "everything done: no model loaded");
    }

    static Set<String> fieldNames(JsonNode n) {
        Set<String> names = new java.util.HashSet<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void promptEmbedsReplaceTheTextEncoders() throws IOException {
        Path out = dir.resolve("encoded");
        assertEquals(0, generate(out).exitCode());
        // the fake's own encodings of the three prompts, as a file
        FakeBackend fake = new FakeBackend();
        List<String> texts = List.of("a red car", "a blue bird", "a green tree");
        float[] tokens = new float[3 * 16];
        float[] pooled = new float[3 * 3];
        try (var p = fake.open(new PipelineSpec(model.toString(), ai.djl.Device.cpu(), TensorType.F32,
                Set.of(Component.TEXT_ENCODERS)))) {
            for (int i = 0; i < 3; i++) {
                var e = p.encode(texts.get(i));
                System.arraycopy(e.tokens().data(), 0, tokens, 16 * i, 16);
                System.arraycopy(e.pooled().data(), 0, pooled, 3 * i, 3);
            }
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        Path embeds = dir.resolve("embeds.safetensors");
        new SafetensorsWriter()
                .add("prompt_embeds", TensorType.F32, new long[] {3, 2, 8}, bytes(tokens))
                .add("pooled_prompt_embeds", TensorType.F32, new long[] {3, 3}, bytes(pooled))
                .write(embeds);
        Files.delete(model.resolve("text_encoders.bin"));
        FakeBackend.reset();
        Path out2 = dir.resolve("from-file");
        CliRun r = generate(out2, "--prompt-embeds", embeds.toString(), "--workers", "2");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(0, FakeBackend.ENCODES.get());
        assertTrue(FakeBackend.OPENED.stream().noneMatch(s -> s.has(Component.TEXT_ENCODERS)));
        for (String name : images(out)) {
            assertArrayEquals(pixels(out.resolve(name)), pixels(out2.resolve(name)), name);
        }
        assertEquals("embeds.safetensors[2]",
                JSON.readTree(OutputFiles.readPngParameters(out2.resolve("img_2.png"))).get("prompt_embeds").asText());

        Path two = dir.resolve("two.safetensors");
        new SafetensorsWriter().add("prompt_embeds", TensorType.F32, new long[] {2, 2, 8},
                bytes(Arrays.copyOf(tokens, 32))).write(two);
        CliRun short_ = generate(dir.resolve("x"), "--prompt-embeds", two.toString());
        assertEquals(2, short_.exitCode());
        assertTrue(short_.err().contains("--prompt-embeds: " + two + " holds 2 row(s), one per prompt, but 3 prompt(s) "
                + "are given"), short_.err());
        assertFalse(Files.exists(dir.resolve("x")));
    }

    /** The fake's encodings of {@code texts}, as an embeddings file, with {@code metadata} entries. */
    Path embeddingsOf(String name, List<String> texts, Map<String, String> metadata) throws Exception {
        float[] tokens = new float[texts.size() * 16];
        float[] pooled = new float[texts.size() * 3];
        try (var p = new FakeBackend().open(new PipelineSpec(model.toString(), ai.djl.Device.cpu(), TensorType.F32,
                Set.of(Component.TEXT_ENCODERS)))) {
            for (int i = 0; i < texts.size(); i++) {
                var e = p.encode(texts.get(i));
                System.arraycopy(e.tokens().data(), 0, tokens, 16 * i, 16);
                System.arraycopy(e.pooled().data(), 0, pooled, 3 * i, 3);
            }
        }
        SafetensorsWriter w = new SafetensorsWriter()
                .add("prompt_embeds", TensorType.F32, new long[] {texts.size(), 2, 8}, bytes(tokens))
                .add("pooled_prompt_embeds", TensorType.F32, new long[] {texts.size(), 3}, bytes(pooled));
        metadata.forEach(w::metadata);
        Path file = dir.resolve(name);
        w.write(file);
        return file;
    }

    /** A run with the usual options but no --prompt-file. */
    static CliRun generateFrom(Path model, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("--backend", "fake", "--model-path", model.toString(),
                "--device", "cpu", "--width", "64", "--height", "48", "--steps", "10", "--output-dir", out.toString()));
        args.addAll(List.of(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    /**
     * Issue 4's contract: the rows of an embeddings file define the images, so no prompt is needed;
     * the images are labelled with the prompts the file records, else with their row only. Prompts
     * given besides must be one per row and the ones the file records.
     */
    @Test
    void promptEmbedsAloneDefineTheImagesAndGivenPromptsMustMatchThem() throws Exception {
        Path withPrompts = dir.resolve("with-prompts");
        assertEquals(0, generate(withPrompts).exitCode());
        List<String> texts = List.of("a red car", "a blue bird", "a green tree");
        Path recorded = embeddingsOf("recorded.safetensors", texts,
                Map.of(EmbeddingsFile.PROMPTS, JSON.writeValueAsString(texts)));
        Path anonymous = embeddingsOf("anonymous.safetensors", texts, Map.of());
        Files.delete(model.resolve("text_encoders.bin"));

        Path fromFile = dir.resolve("from-file");
        CliRun r = generateFrom(model, fromFile, "--prompt-embeds", recorded.toString());
        assertEquals(0, r.exitCode(), r.err());
        Map<Integer, JsonNode> m = manifest(fromFile.resolve("manifest.jsonl"));
        assertEquals(Set.of(0, 1, 2), m.keySet());
        for (int i = 0; i < 3; i++) {
            assertEquals(texts.get(i), m.get(i).get("prompt").asText());
            assertArrayEquals(pixels(withPrompts.resolve("img_" + i + ".png")), pixels(fromFile.resolve("img_" + i + ".png")));
            JsonNode p = JSON.readTree(OutputFiles.readPngParameters(fromFile.resolve("img_" + i + ".png")));
            assertEquals(texts.get(i), p.get("prompt").asText());
            assertEquals("recorded.safetensors[" + i + "]", p.get("prompt_embeds").asText());
        }

        // no recorded prompts: the row names the image
        Path rows = dir.resolve("rows");
        CliRun a = generateFrom(model, rows, "--prompt-embeds", anonymous.toString(), "--output-type", "latent");
        assertEquals(0, a.exitCode(), a.err());
        assertEquals(List.of("img_0.safetensors", "img_1.safetensors", "img_2.safetensors"), images(rows));
        try (SafetensorsFile f = SafetensorsFile.open(rows.resolve("img_1.safetensors"))) {
            JsonNode p = JSON.readTree(f.metadata().get(OutputFiles.PARAMETERS));
            assertEquals("", p.get("prompt").asText());
            assertEquals("anonymous.safetensors[1]", p.get("prompt_embeds").asText());
        }

        // given prompts: the same as recorded is fine; another prompt, or another count, is refused
        CliRun same = generate(dir.resolve("same"), "--prompt-embeds", recorded.toString());
        assertEquals(0, same.exitCode(), same.err());
        Path lies = Files.writeString(dir.resolve("lies.txt"), "a red car\na black cat\na green tree\n");
        CliRun other = generate(lies, dir.resolve("x"), "--prompt-embeds", recorded.toString());
        assertEquals(2, other.exitCode(), other.err());
        assertTrue(other.err().contains("--prompt-embeds: prompt 1 is 'a black cat', but row 1 of " + recorded
                + " was encoded from 'a blue bird'"), other.err());
        CliRun fewer = generateFrom(model, dir.resolve("x"), "--prompt", "a red car", "--prompt-embeds",
                recorded.toString());
        assertEquals(2, fewer.exitCode(), fewer.err());
        assertTrue(fewer.err().contains("holds 3 row(s), one per prompt, but 1 prompt(s) are given"), fewer.err());
        assertFalse(Files.exists(dir.resolve("x")));
    }

    /** Issue 10, defect 2: line breaks in a prompt are kept exactly, and cannot add lines to A1111 parameters. */
    @Test
    void lineBreaksInAPromptCannotSpoofTheParametersText() throws IOException {
        Path out = dir.resolve("out");
        String prompt = "a cat\nSteps: 999\nNegative prompt: dog";
        CliRun r = generateFrom(model, out, "--prompt", prompt, "--seed", "5");
        assertEquals(0, r.exitCode(), r.err());
        Map<String, String> text = io.hicache.core.image.PngReader.readText(out.resolve("img_0.png"));
        assertEquals(prompt, io.hicache.core.image.GenerationParameters.fromPngText(text).prompt());
        assertEquals(prompt, JSON.readTree(OutputFiles.readPngParameters(out.resolve("img_0.png"))).get("prompt").asText());
        List<String> lines = text.get("parameters").lines().toList();
        assertEquals(List.of("a cat\\nSteps: 999\\nNegative prompt: dog"), lines.subList(0, 1));
        assertEquals(2, lines.size(), text.get("parameters"));
        assertTrue(lines.get(1).startsWith("Steps: 10, Seed: 5"), lines.get(1));
    }

    static ByteBuffer bytes(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b;
    }

    @Test
    void initNoiseIsTakenPerImageIndex() throws IOException {
        float[] noise = new float[4 * FakeBackend.CHANNELS * 6 * 8];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = (float) Math.sin(i);
        }
        Path file = dir.resolve("noise.safetensors");
        new SafetensorsWriter().add("latents", TensorType.F32, new long[] {4, FakeBackend.CHANNELS, 6, 8}, bytes(noise))
                .write(file);
        Path seeded = dir.resolve("seeded");
        Path noised = dir.resolve("noised");
        assertEquals(0, generate(seeded).exitCode());
        CliRun r = generate(noised, "--init-noise", file.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertFalse(Arrays.equals(pixels(seeded.resolve("img_0.png")), pixels(noised.resolve("img_0.png"))));
        assertEquals("noise.safetensors[1]",
                JSON.readTree(OutputFiles.readPngParameters(noised.resolve("img_1.png"))).get("init_noise").asText());

        CliRun wrong = generate(dir.resolve("x"), "--init-noise", file.toString(), "--width", "128");
        assertEquals(2, wrong.exitCode());
        assertTrue(wrong.err().contains("latents of 64x48 images"), wrong.err());
        CliRun missing = generate(dir.resolve("x"), "--init-noise", dir.resolve("none.safetensors").toString());
        assertEquals(2, missing.exitCode());
        assertTrue(missing.err().contains("--init-noise: no such file"), missing.err());
    }

    @Test
    void aRerunKeepsGoodImagesAndRedoesDamagedMissingAndTornOnes() throws IOException {
        Path out = dir.resolve("out");
        assertEquals(0, generate(out).exitCode());
        byte[] img1 = Files.readAllBytes(out.resolve("img_1.png"));
        byte[] img2 = Files.readAllBytes(out.resolve("img_2.png"));
        // the damage a killed run or a crash can leave
        Files.write(out.resolve("img_1.png"), Arrays.copyOf(img1, img1.length / 2));
        Files.delete(out.resolve("img_2.png"));
        Files.writeString(out.resolve(".img_2.png.tmp-12345"), "half");
        Files.writeString(out.resolve(".img_77.png.tmp-1"), "someone else's");
        try (FileChannel ch = FileChannel.open(out.resolve("manifest.jsonl"), StandardOpenOption.APPEND)) {
            ch.write(ByteBuffer.wrap("{\"index\":2,\"prom".getBytes()));
        }
        FakeBackend.reset();
        CliRun r = generate(out);
        assertEquals(0, r.exitCode(), r.err());
        assertArrayEquals(img1, Files.readAllBytes(out.resolve("img_1.png")));
        assertArrayEquals(img2, Files.readAllBytes(out.resolve("img_2.png")));
        assertFalse(Files.exists(out.resolve(".img_2.png.tmp-12345")));
        assertTrue(Files.exists(out.resolve(".img_77.png.tmp-1")), "not this run's file: left alone");
        assertEquals(Set.of(0, 1, 2), manifest(out.resolve("manifest.jsonl")).keySet());
        JsonNode plan = JSON.readTree(out.resolve("run.json").toFile()).get("plan");
        assertEquals(1, plan.get("already_done").asInt());

        // without a manifest, finished images are recognised by their metadata
        Files.delete(out.resolve("manifest.jsonl"));
        FakeBackend.reset();
        assertEquals(0, generate(out).exitCode());
        assertEquals(0, FakeBackend.OPENED.size());
        Map<Integer, JsonNode> rebuilt = manifest(out.resolve("manifest.jsonl"));
        assertEquals(Set.of(0, 1, 2), rebuilt.keySet(), "the manifest is rebuilt from the files");
        assertEquals(Files.size(out.resolve("img_2.png")), rebuilt.get(2).get("files").get("img_2.png").asLong());
    }

    @Test
    void aRerunRedoesFilesWithAFlippedByteOrBytesAddedThoughTheSizeOrParametersStillMatch() throws IOException {
        Path out = dir.resolve("out");
        assertEquals(0, generate(out, "--output-type", "both").exitCode());
        byte[] png1 = Files.readAllBytes(out.resolve("img_1.png"));
        byte[] latents2 = Files.readAllBytes(out.resolve("img_2.safetensors"));
        byte[] flipped = png1.clone();
        flipped[flipped.length - 40] ^= 0x01; // in the image data: same size, parameters intact, CRC wrong
        Files.write(out.resolve("img_1.png"), flipped);

        FakeBackend.reset();
        CliRun r = generate(out, "--output-type", "both");
        assertEquals(0, r.exitCode(), r.err());
        assertArrayEquals(png1, Files.readAllBytes(out.resolve("img_1.png")), "made again");
        assertEquals(2, JSON.readTree(out.resolve("run.json").toFile()).get("plan").get("already_done").asInt());
        assertTrue(Files.readString(out.resolve("hicache.log")).contains("img_1.png is damaged"));

        // without a manifest line to compare sizes with, bytes appended to a latents file show too
        Files.delete(out.resolve("manifest.jsonl"));
        Files.write(out.resolve("img_2.safetensors"), Arrays.copyOf(latents2, latents2.length + 4));
        Files.write(out.resolve("img_1.png"), flipped);
        FakeBackend.reset();
        assertEquals(0, generate(out, "--output-type", "both").exitCode());
        assertArrayEquals(latents2, Files.readAllBytes(out.resolve("img_2.safetensors")));
        assertArrayEquals(png1, Files.readAllBytes(out.resolve("img_1.png")));
        assertEquals(1, JSON.readTree(out.resolve("run.json").toFile()).get("plan").get("already_done").asInt());
    }

    @Test
    void whenTheRunsOwnFilesCannotBeWrittenTheErrorNamesTheFileAndRunJsonEndsFailed() throws IOException {
        Path out = dir.resolve("out");
        Path manifest = out.resolve("manifest.jsonl");
        FakeBackend.duringGenerate = () -> {
            // the manifest's place taken, as a lost mount or a bad copy can do: it cannot be rewritten
            Files.move(manifest, out.resolve("manifest.moved"));
            Files.createDirectories(manifest.resolve("in-the-way"));
        };
        Path hooked = Files.writeString(dir.resolve("hooked.txt"), "a red car\nHOOK a blue bird\na green tree\n");
        CliRun r = generate(hooked, out);
        assertEquals(1, r.exitCode(), r.err());
        assertEquals("hicache: cannot read " + manifest + ": Is a directory; fix that and rerun to resume",
                r.err().trim());
        JsonNode record = JSON.readTree(out.resolve("run.json").toFile());
        assertEquals("failed", record.get("status").asText());
        assertEquals(1, record.get("exit_code").asInt());
        assertEquals(3, images(out).size(), "the images made are kept");
    }

    @Test
    void imagesMadeWithOtherSettingsAreNotMixedInUnlessOverwriteIsGiven() throws IOException {
        Path out = dir.resolve("out");
        assertEquals(0, generate(out).exitCode());
        CliRun r = generate(out, "--steps", "20");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("already holds 3 image file(s) made with other settings (img_0.png: steps 10 "
                + "(now 20)): add --overwrite"), r.err());
        CliRun over = generate(out, "--steps", "20", "--overwrite");
        assertEquals(0, over.exitCode(), over.err());
        assertEquals(20, JSON.readTree(OutputFiles.readPngParameters(out.resolve("img_0.png"))).get("steps").asInt());
        assertEquals(0, generate(out, "--steps", "20").exitCode());

        Files.write(out.resolve("img_1.png"), Files.readAllBytes(Path.of("..", "hicache-cli", "src", "test",
                "resources", "META-INF", "services", "io.hicache.core.pipeline.Backend")));
        Files.delete(out.resolve("manifest.jsonl"));
        assertEquals(0, generate(out, "--steps", "20").exitCode(), "a file that is not a PNG is damaged: remade");
    }

    @Test
    void aSecondRunOnTheSameDirectoryIsRefused() throws IOException {
        Path out = dir.resolve("out");
        try (OutputDir held = OutputDir.open(out, Shard.WHOLE)) {
            CliRun r = generate(out);
            assertEquals(2, r.exitCode());
            assertTrue(r.err().contains("another hicache run is writing to " + out), r.err());
            CliRun shard = generate(out, "--shard", "1/2");
            assertEquals(2, shard.exitCode(), "a shard shares the directory only with other shards");
        }
        // (shards sharing it hold shared locks, which one JVM cannot hold twice: tested across processes)
    }

    @Test
    void forecastErrorIsRecordedWhenMeasured() throws IOException {
        Path out = dir.resolve("out");
        assertEquals(0, generate(out, "--measure-forecast-error", "--limit", "1").exitCode());
        assertEquals(0.02, manifest(out.resolve("manifest.jsonl")).get(0).get("forecast_error").asDouble(), 1e-12);
    }

    @Test
    void snakeCaseSpellingsOfUpstreamWork() throws IOException {
        Path out = dir.resolve("out");
        CliRun r = CliRun.of("--backend", "fake", "--model_path", model.toString(), "--prompt_file", prompts.toString(),
                "--device", "cpu", "--width", "32", "--height", "32", "--num_steps", "6", "--max_order", "1",
                "--first_enhance", "2", "--hicache_scale", "0.6", "--start_index", "1", "--limit", "1",
                "--num_images_per_prompt", "2", "--output_dir", out.toString(), "--cache_mode", "taylor");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(List.of("img_2.png", "img_3.png"), images(out));
        JsonNode p = JSON.readTree(OutputFiles.readPngParameters(out.resolve("img_3.png")));
        assertEquals("Taylor_i7_o1_fe2", p.get("cache").asText());
        assertEquals(6, p.get("steps").asInt());
    }

    @Test
    void analyticSigmaOptionsReachTheCacheConfig() throws IOException {
        Path out = dir.resolve("out");
        CliRun r = generate(out, "--mode", "HiCache-Analytic", "--analytic-sigma-alpha", "2.0",
                "--analytic_sigma_q_quantile", "0.9", "--limit", "1");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode c = JSON.readTree(OutputFiles.readPngParameters(out.resolve("img_0.png"))).get("cache_config");
        assertEquals(2.0, c.get("analyticAlpha").asDouble());
        assertEquals(0.9, c.get("analyticQuantile").asDouble());
    }

    @Test
    void nothingLeftToDoLoadsNoModel() throws IOException {
        Path out = dir.resolve("out");
        assertEquals(0, generate(out, "--limit", "0").exitCode());
        assertEquals(0, FakeBackend.OPENED.size());
        assertEquals(0, generate(out, "--shard", "2/5", "--limit", "1").exitCode(), "a shard with no images");
        assertEquals(0, FakeBackend.OPENED.size());
    }
}
