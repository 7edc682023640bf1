package io.hicache.cli;

import io.hicache.core.testing.IsolatedHicacheHome;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.SeededNoise;
import io.hicache.core.weights.SafetensorsFile;
import io.hicache.core.weights.SafetensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The launcher on the real FLUX backend (tiny weights): the documented command lines, end to end. */
@ExtendWith(IsolatedHicacheHome.class)
class FluxCliTest {
    @TempDir
    Path dir;

    /**
     * Issue-4 command line: precomputed embeddings and noise, latent output, a model folder holding
     * only transformer/ and scheduler/; the latents equal the library's for the same inputs.
     */
    @Test
    void latentRunFromEmbeddingsAndNoiseNeedsOnlyTransformerAndScheduler() throws Exception {
        Path full = dir.resolve("full");
        Backend.named("flux").writeTinyModel(full, 3, TensorType.F32, false);
        Path embeds = dir.resolve("E.safetensors");
        CliRun enc = CliRun.of("encode-prompts", "--model-path", full.toString(), "--device", "cpu",
                "--prompt", "a red fox", "--prompt", "a blue whale", "--output", embeds.toString());
        assertEquals(0, enc.exitCode(), enc.err());
        Path noise = dir.resolve("N.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            new SafetensorsWriter().add("latents", SeededNoise.gaussian(77, new Shape(2, 16, 16, 16), m)).write(noise);
        }
        Path partial = dir.resolve("partial");
        copyTree(full.resolve("transformer"), partial.resolve("transformer"));
        copyTree(full.resolve("scheduler"), partial.resolve("scheduler"));

        // issue 4's command line: no prompts, the embeddings' rows are the images
        Path out = dir.resolve("OUT");
        String[] issue4 = {"--backend", "flux", "--model-path", partial.toString(), "--device", "cpu",
            "--dtype", "float32", "--mode", "HiCache", "--interval", "3", "--max-order", "2", "--first-enhance", "3",
            "--hicache-scale", "0.5", "--steps", "8", "--width", "128", "--height", "128", "--guidance", "3.5",
            "--prompt-embeds", embeds.toString(), "--init-noise", noise.toString(), "--output-type", "latent", "--quiet"};
        CliRun r = CliRun.of(concat(issue4, "--output-dir", out.toString()));
        assertEquals(0, r.exitCode(), r.err());
        // the same with the prompts the file was encoded from: the same files, byte for byte
        Path labelled = dir.resolve("labelled");
        CliRun withPrompts = CliRun.of(concat(issue4, "--prompt", "a red fox", "--prompt", "a blue whale",
                "--output-dir", labelled.toString()));
        assertEquals(0, withPrompts.exitCode(), withPrompts.err());
        for (int i = 0; i < 2; i++) {
            String name = "img_" + i + ".safetensors";
            assertArrayEquals(Files.readAllBytes(labelled.resolve(name)), Files.readAllBytes(out.resolve(name)), name);
        }
        CliRun mislabelled = CliRun.of(concat(issue4, "--prompt", "a red fox", "--prompt", "a grey seal",
                "--output-dir", dir.resolve("mislabelled").toString()));
        assertEquals(2, mislabelled.exitCode(), mislabelled.err());
        assertTrue(mislabelled.err().contains("row 1 of " + embeds + " was encoded from 'a blue whale'"),
                mislabelled.err());
        assertFalse(Files.exists(dir.resolve("mislabelled")));

        CacheConfig cache = CacheConfig.defaults().withInterval(3);
        try (ImagePipeline p = Backend.named("flux").open(PipelineSpec.full(full.toString(), Device.cpu(), TensorType.F32));
                SafetensorsFile e = SafetensorsFile.open(embeds); SafetensorsFile n = SafetensorsFile.open(noise)) {
            HostTensor tokens = HostTensor.read(e, "prompt_embeds");
            HostTensor pooled = HostTensor.read(e, "pooled_prompt_embeds");
            HostTensor latents = HostTensor.read(n, "latents");
            for (int i = 0; i < 2; i++) {
                try (SafetensorsFile f = SafetensorsFile.open(out.resolve("img_" + i + ".safetensors"))) {
                    assertArrayEquals(new long[] {1, 16, 16, 16}, f.info("latents").shapeArray());
                    assertEquals(TensorType.F32, f.info("latents").type());
                    assertTrue(f.metadata().get(OutputFiles.PARAMETERS)
                            .contains("\"prompt\":\"" + (i == 0 ? "a red fox" : "a blue whale") + "\""));
                    GenerationRequest same = new GenerationRequest(i == 0 ? "a red fox" : "a blue whale", null, i, 8, 128,
                            128, 3.5, cache, new TextEmbeddings(tokens.batchItem(i), pooled.batchItem(i)),
                            latents.batchItem(i), false, false);
                    assertEquals(p.generate(same).latents(), HostTensor.read(f, "latents"), "img_" + i);
                }
            }
        }
        try (Stream<Path> s = Files.list(out)) {
            assertFalse(s.anyMatch(f -> f.getFileName().toString().endsWith(".png")), "latent output only");
        }
    }

    /**
     * The sizes FLUX's backend reports without loading anything are those its text encoders and
     * noise actually have; inputs of other sizes are refused before any load (issue 10, defect 5).
     */
    @Test
    void inputShapesComeFromTheConfigsAndWrongInputsAreRefusedBeforeLoading() throws Exception {
        Path full = dir.resolve("full");
        Backend flux = Backend.named("flux");
        flux.writeTinyModel(full, 3, TensorType.F32, false);
        Path embeds = dir.resolve("E.safetensors");
        CliRun enc = CliRun.of("encode-prompts", "--model-path", full.toString(), "--device", "cpu", "--prompt", "a fox",
                "--output", embeds.toString());
        assertEquals(0, enc.exitCode(), enc.err());
        io.hicache.core.pipeline.InputShapes shapes = flux.inputShapes(full.toString());
        try (SafetensorsFile e = SafetensorsFile.open(embeds)) {
            assertEquals(e.info("prompt_embeds").shapeArray()[2], shapes.tokenWidth());
            assertEquals(e.info("pooled_prompt_embeds").shapeArray()[1], shapes.pooledWidth());
        }
        assertEquals(16, shapes.latentChannels(), "FLUX.1's VAE latents");
        assertEquals(8, shapes.latentScale());

        Path wide = dir.resolve("wide.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            new SafetensorsWriter().add("prompt_embeds", SeededNoise.gaussian(1, new Shape(1, 4, 4096), m))
                    .add("pooled_prompt_embeds", SeededNoise.gaussian(2, new Shape(1, 768), m)).write(wide);
        }
        Path out = dir.resolve("out");
        CliRun r = CliRun.of("--model-path", full.toString(), "--device", "cpu", "--prompt-embeds", wide.toString(),
                "--width", "64", "--height", "64", "--output-dir", out.toString());
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains("prompt_embeds of " + wide + " are 4096 wide [1, 4, 4096], but the model " + full
                + " takes " + shapes.tokenWidth()), r.err());
        assertFalse(Files.exists(out));
    }

    /**
     * Issue 6: two CPU workers make exactly the images one worker makes (byte for byte). Each run is
     * its own JVM, as for a user: one worker computes with 2 intra-op threads, two workers with 1
     * each, so this also proves the results do not depend on the thread count.
     */
    @Test
    void twoWorkersMakeTheSameImagesAsOne() throws Exception {
        Path one = dir.resolve("one");
        Path two = dir.resolve("two");
        // 256²: the VAE's 1×1 convolution had thread-dependent results at this size, not at 64²
        List<String> common = List.of("--model-path", "builtin:flux-tiny", "--device", "cpu", "--steps", "6",
                "--width", "256", "--height", "256", "--prompt-file",
                Path.of("..", "resources", "prompts", "examples.txt").toString(), "--limit", "4", "--quiet");
        assertEquals(0, child(common, "--output-dir", one.toString()), Files.readString(dir.resolve("child.log")));
        assertEquals(0, child(common, "--output-dir", two.toString(), "--workers", "2"),
                Files.readString(dir.resolve("child.log")));
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(Files.readAllBytes(one.resolve("img_" + i + ".png")),
                    Files.readAllBytes(two.resolve("img_" + i + ".png")), "img_" + i);
        }
        assertTrue(Files.readString(one.resolve("run.json")).contains("\"intra_op_threads\" : \"2\""));
        assertTrue(Files.readString(two.resolve("run.json")).contains("\"intra_op_threads\" : \"1\""));
    }

    private int child(List<String> common, String... extra) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                "-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true", "-Dhicache.home=" + IsolatedHicacheHome.current(),
                "-cp", System.getProperty("java.class.path"), HiCacheCli.class.getName()));
        command.addAll(common);
        command.addAll(List.of(extra));
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("child.log").toFile()).start();
        assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS), "child did not finish");
        return p.exitValue();
    }

    static String[] concat(String[] a, String... b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }

    static void copyTree(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path f : (Iterable<Path>) s::iterator) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

    /**
     * A model whose files can never load is refused by the backend's pre-load check: exit 2, one
     * line naming the file, nothing written (no output directory, run.json or manifest).
     */
    @Test
    void aBrokenModelIsRefusedBeforeAnythingIsWritten() throws Exception {
        String[][] breakages = {
            {"transformer/config.json", "\"num_layers\": 2", "\"num_layers\": 1000000000"},
            {"text_encoder_2/config.json", "\"num_layers\": 2", "\"num_layers\": 2.5"},
            {"scheduler/scheduler_config.json", "\"shift\": 3.0", "\"shift\": -1e308"},
            {"tokenizer/vocab.json", "{", "{]"},
        };
        for (String[] b : breakages) {
            Path model = dir.resolve("model-" + b[0].replace('/', '-'));
            Backend.named("flux").writeTinyModel(model, 3, TensorType.F32, false);
            Path file = model.resolve(b[0]);
            String compact = new com.fasterxml.jackson.databind.ObjectMapper().readTree(file.toFile()).toString()
                    .replace("\":", "\": ");
            assertTrue(compact.contains(b[1]), compact);
            Files.writeString(file, compact.replaceFirst(java.util.regex.Pattern.quote(b[1]), b[2]));
            Path out = dir.resolve("out-" + b[0].replace('/', '-'));
            CliRun r = CliRun.of("--backend", "flux", "--model-path", model.toString(), "--device", "cpu",
                    "--prompt", "a cat", "--steps", "2", "--width", "64", "--height", "64", "--output-dir", out.toString());
            assertEquals(2, r.exitCode(), b[0] + ": " + r.err());
            assertTrue(r.err().contains(file.toString()), b[0] + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), b[0] + ": " + r.err());
            assertFalse(Files.exists(out), b[0] + ": nothing is written");
        }
    }
}
