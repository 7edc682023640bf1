package io.hicache.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.image.PngReader;
import io.hicache.core.image.PngWriter;
import io.hicache.core.image.RgbImage;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.SeededNoise;
import io.hicache.core.testing.IsolatedHicacheHome;
import io.hicache.core.weights.SafetensorsFile;
import io.hicache.core.weights.SafetensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The launcher on the qwen-image backend (the built-in tiny model): the documented command lines, end to end. */
@ExtendWith(IsolatedHicacheHome.class)
class QwenCliTest {
    static final String[] GENERATE = {"--backend", "qwen-image", "--model-path", "builtin:qwen-image-tiny",
        "--prompt", "a red star", "--negative-prompt", " ", "--steps", "8", "--width", "128", "--height", "128"};

    @TempDir
    Path dir;

    @Test
    void promptToPng() throws Exception {
        Path out = dir.resolve("out");
        CliRun r = CliRun.of(FluxCliTest.concat(GENERATE, "--output-dir", out.toString()));
        assertEquals(0, r.exitCode(), r.err());
        RgbImage image = PngReader.readImage(out.resolve("img_0.png"));
        assertEquals(128, image.width());
        assertEquals(128, image.height());
    }

    @Test
    void latentOutput() throws Exception {
        Path out = dir.resolve("out");
        CliRun r = CliRun.of(FluxCliTest.concat(GENERATE, "--output-type", "latent", "--output-dir", out.toString()));
        assertEquals(0, r.exitCode(), r.err());
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("img_0.safetensors"))) {
            assertArrayEquals(new long[] {1, 16, 16, 16}, f.info("latents").shapeArray());
        }
        assertFalse(Files.exists(out.resolve("img_0.png")));
    }

    @Test
    void bench() throws Exception {
        Path out = dir.resolve("bench");
        CliRun r = CliRun.of("bench", "--backend", "qwen-image", "--model-path", "builtin:qwen-image-tiny", "--prompt",
                "a red star", "--steps", "8", "--width", "128", "--height", "128", "--limit", "1", "--output-dir",
                out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(Files.isRegularFile(out.resolve("bench.json")));
    }

    @Test
    void initTinyWritesALoadableModel() throws Exception {
        Path model = dir.resolve("tiny");
        CliRun init = CliRun.of("init-tiny", "qwen-image", model.toString(), "--sharded");
        assertEquals(0, init.exitCode(), init.err());
        assertTrue(Files.isRegularFile(model.resolve("text_encoder").resolve("model.safetensors.index.json")));
        Path out = dir.resolve("out");
        CliRun r = CliRun.of("--backend", "qwen-image", "--model-path", model.toString(), "--prompt", "a cat",
                "--steps", "2", "--width", "64", "--height", "64", "--output-dir", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(Files.isRegularFile(out.resolve("img_0.png")));
    }

    /**
     * {@code --prompt-embeds} with [B, L, hidden] and no pooled tensor, as encode-prompts writes it for
     * this backend and as a hand-written file gives it; the images are the library's for the same embeddings.
     */
    @Test
    void promptEmbedsWithoutPooledTensor() throws Exception {
        Path encoded = dir.resolve("E.safetensors");
        CliRun enc = CliRun.of("encode-prompts", "--backend", "qwen-image", "--model-path", "builtin:qwen-image-tiny",
                "--prompt", "a red star", "--output", encoded.toString());
        assertEquals(0, enc.exitCode(), enc.err());
        try (SafetensorsFile f = SafetensorsFile.open(encoded)) {
            assertEquals(3, f.info("prompt_embeds").shapeArray().length);
            assertEquals(32, f.info("prompt_embeds").shapeArray()[2]);
            assertFalse(f.names().contains("pooled_prompt_embeds"));
        }
        Path out = dir.resolve("out");
        CliRun r = CliRun.of("--backend", "qwen-image", "--model-path", "builtin:qwen-image-tiny", "--prompt-embeds",
                encoded.toString(), "--steps", "2", "--width", "64", "--height", "64", "--output-type", "latent",
                "--output-dir", out.toString());
        assertEquals(0, r.exitCode(), r.err());

        Path handWritten = dir.resolve("H.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            new SafetensorsWriter().add("prompt_embeds", SeededNoise.gaussian(4, new Shape(2, 5, 32), m)).write(handWritten);
        }
        Path out2 = dir.resolve("out2");
        CliRun r2 = CliRun.of("--backend", "qwen-image", "--model-path", "builtin:qwen-image-tiny", "--prompt-embeds",
                handWritten.toString(), "--steps", "2", "--width", "64", "--height", "64", "--output-type", "latent",
                "--mode", "original", "--output-dir", out2.toString());
        assertEquals(0, r2.exitCode(), r2.err());
        try (ImagePipeline p = Backend.named("qwen-image").open(PipelineSpec.full("builtin:qwen-image-tiny", Device.cpu(),
                TensorType.F32)); SafetensorsFile e = SafetensorsFile.open(handWritten)) {
            HostTensor tokens = HostTensor.read(e, "prompt_embeds");
            for (int i = 0; i < 2; i++) {
                try (SafetensorsFile f = SafetensorsFile.open(out2.resolve("img_" + i + ".safetensors"))) {
                    GenerationRequest same = new GenerationRequest("", null, i, 2, 64, 64, 3.5,
                            CacheConfig.of(io.hicache.core.cache.CacheMode.ORIGINAL),
                            new TextEmbeddings(tokens.batchItem(i), null), null, false, false);
                    assertEquals(p.generate(same).latents(), HostTensor.read(f, "latents"), "img_" + i);
                }
            }
        }
    }

    /**
     * Prompts of different token lengths (and a negative prompt of yet another) share one file: rows
     * are padded to the longest with a mask, and each image equals the one made by encoding in the run.
     */
    @Test
    void promptsOfDifferentLengthsShareOneEmbeddingsFile() throws Exception {
        Path encoded = dir.resolve("E.safetensors");
        CliRun enc = CliRun.of("encode-prompts", "--backend", "qwen-image", "--model-path", "builtin:qwen-image-tiny",
                "--prompt", "a red star", "--prompt", "a large blue circle in the top left corner on a white background",
                "--negative-prompt", " ", "--output", encoded.toString());
        assertEquals(0, enc.exitCode(), enc.err());
        try (SafetensorsFile f = SafetensorsFile.open(encoded)) {
            long[] shape = f.info("prompt_embeds").shapeArray();
            assertArrayEquals(new long[] {2, shape[1]}, f.info("prompt_embeds_mask").shapeArray());
            assertArrayEquals(shape, f.info("negative_prompt_embeds").shapeArray());
            float[] mask = HostTensor.read(f, "prompt_embeds_mask").data();
            float kept0 = 0;
            float kept1 = 0;
            for (int j = 0; j < shape[1]; j++) {
                kept0 += mask[j];
                kept1 += mask[(int) shape[1] + j];
            }
            assertTrue(kept0 < kept1 && kept1 == shape[1], "the short prompt is padded: " + kept0 + " of " + kept1);
            float[] negativeMask = HostTensor.read(f, "negative_prompt_embeds_mask").data();
            float negativeKept = 0;
            for (int j = 0; j < shape[1]; j++) {
                negativeKept += negativeMask[j];
            }
            assertEquals(6, negativeKept, "\" \" keeps 6 tokens");
        }
        String[] common = {"--backend", "qwen-image", "--model-path", "builtin:qwen-image-tiny", "--negative-prompt",
            " ", "--steps", "3", "--width", "64", "--height", "64", "--output-type", "latent", "--quiet"};
        Path fromFile = dir.resolve("from-file");
        CliRun r = CliRun.of(concat(common, "--prompt-embeds", encoded.toString(), "--output-dir", fromFile.toString()));
        assertEquals(0, r.exitCode(), r.err());
        Path inRun = dir.resolve("in-run");
        CliRun direct = CliRun.of(concat(common, "--prompt", "a red star", "--prompt",
                "a large blue circle in the top left corner on a white background", "--output-dir", inRun.toString()));
        assertEquals(0, direct.exitCode(), direct.err());
        for (int i = 0; i < 2; i++) {
            try (SafetensorsFile a = SafetensorsFile.open(fromFile.resolve("img_" + i + ".safetensors"));
                    SafetensorsFile b = SafetensorsFile.open(inRun.resolve("img_" + i + ".safetensors"))) {
                assertEquals(HostTensor.read(b, "latents"), HostTensor.read(a, "latents"), "img_" + i);
            }
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** A pooled tensor the model does not take is refused before loading, not at the first image. */
    @Test
    void pooledEmbeddingsAreRefusedBeforeLoading() throws Exception {
        Path file = dir.resolve("P.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            new SafetensorsWriter().add("prompt_embeds", SeededNoise.gaussian(4, new Shape(1, 5, 32), m))
                    .add("pooled_prompt_embeds", SeededNoise.gaussian(5, new Shape(1, 8), m)).write(file);
        }
        Path out = dir.resolve("out");
        CliRun r = CliRun.of("--backend", "qwen-image", "--model-path", "builtin:qwen-image-tiny", "--prompt-embeds",
                file.toString(), "--steps", "2", "--width", "64", "--height", "64", "--output-dir", out.toString());
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains("pooled_prompt_embeds, which the model builtin:qwen-image-tiny does not take"),
                r.err());
        assertFalse(Files.exists(out));
    }

    /**
     * Qwen-Image's scheduler (shift_terminal 0.02) cannot sample in one step: the stretch divides by
     * 1 − σ of the last step, which is 1 − 1 = 0. Generate and bench refuse it before loading,
     * instead of failing each image.
     */
    @Test
    void oneStepIsRefusedBeforeLoading() throws Exception {
        Path out = dir.resolve("out");
        CliRun r = CliRun.of("--backend", "qwen-image", "--model-path", "builtin:qwen-image-tiny", "--prompt", "a cat",
                "--steps", "1", "--width", "64", "--height", "64", "--output-dir", out.toString());
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains("--steps 1: this scheduler (shift_terminal 0.02) needs at least 2 steps"), r.err());
        assertFalse(Files.exists(out));
        CliRun b = CliRun.of("bench", "--backend", "qwen-image", "--prompt", "a cat", "--steps", "1", "--width", "64",
                "--height", "64", "--output-dir", dir.resolve("bench").toString());
        assertEquals(2, b.exitCode(), b.err());
        assertTrue(b.err().contains("--steps 1: this scheduler (shift_terminal 0.02) needs at least 2 steps"), b.err());
        assertFalse(Files.exists(dir.resolve("bench").resolve("bench.json")));
        Path image = dir.resolve("in.png");
        PngWriter.write(image, RgbImage.filled(64, 64, 30, 80, 220), java.util.Map.of());
        CliRun edit = CliRun.of("--backend", "qwen-image-edit", "--model-path", "builtin:qwen-image-edit-tiny",
                "--image", image.toString(), "--prompt", "make it red", "--steps", "1", "--edit-area", "4096",
                "--output-dir", dir.resolve("edit").toString());
        assertEquals(2, edit.exitCode(), edit.err());
        assertTrue(edit.err().contains("--steps 1: this scheduler"), edit.err());
        assertFalse(Files.exists(dir.resolve("edit")));
        // FLUX.1's scheduler has no shift_terminal: one step is a valid (schnell-style) run
        CliRun flux = CliRun.of("--model-path", "builtin:flux-tiny", "--prompt", "a cat", "--steps", "1", "--width", "64",
                "--height", "64", "--output-dir", dir.resolve("flux").toString());
        assertEquals(0, flux.exitCode(), flux.err());
    }
}
