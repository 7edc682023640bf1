package io.hicache.qwen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.image.Resampling;
import io.hicache.core.image.RgbImage;
import io.hicache.core.image.TensorImages;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.GenerationResult;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.pipeline.InvalidSettingException;
import io.hicache.core.pipeline.ModelDefaults;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.sampling.SeededNoise;
import io.hicache.core.testing.IsolatedHicacheHome;
import io.hicache.core.util.FileTrees;
import io.hicache.qwen.text.QwenPromptBatch;
import io.hicache.qwen.text.QwenPromptEncoder;
import io.hicache.qwen.text.QwenPromptTemplate;
import io.hicache.qwen.transformer.MsRope;
import io.hicache.qwen.transformer.QwenImageDenoiser;
import io.hicache.qwen.transformer.QwenImageTransformer;
import io.hicache.qwen.vae.QwenVaeEncoder;
import io.hicache.qwen.vision.QwenVisionProcessor;
import io.hicache.qwen.vision.QwenVisionTower;
import io.hicache.qwen.vision.VisionPreprocessorConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Instruction-based editing through the {@code qwen-image-edit} backend found by name, on the
 * built-in tiny model: the size that follows the condition image, the edit area setting, requests
 * with and without an image, the prompt encoded with the resized image, and the pre-load checks.
 */
@ExtendWith(IsolatedHicacheHome.class)
class QwenImageEditPipelineTest {
    static final String TINY = "builtin:qwen-image-edit-tiny";
    /** An area of 128²: a 256 × 200 image becomes 160 × 128 (worked in {@link #theSizeFollowsTheImage}). */
    static final long AREA = 16384;
    static Backend backend;
    static ImagePipeline pipeline;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() throws IOException {
        backend = Backend.named("qwen-image-edit").configure(Map.of("edit_area", Long.toString(AREA)), k -> { });
        pipeline = backend.open(PipelineSpec.full(TINY, Device.cpu(), TensorType.F32));
    }

    @AfterAll
    static void close() {
        if (pipeline != null) {
            pipeline.close();
        }
    }

    /** A 256 × 200 picture: a colour ramp, so that resizing and patching have something to move. */
    static RgbImage picture() {
        byte[] rgb = new byte[3 * 256 * 200];
        for (int y = 0; y < 200; y++) {
            for (int x = 0; x < 256; x++) {
                int o = 3 * (y * 256 + x);
                rgb[o] = (byte) x;
                rgb[o + 1] = (byte) (y + 40);
                rgb[o + 2] = (byte) ((x * y) >> 6);
            }
        }
        return RgbImage.of(256, 200, rgb);
    }

    static GenerationRequest request(List<RgbImage> images, int width, int height) {
        return new GenerationRequest("make it blue", " ", 7, 2, width, height, 0, CacheConfig.of(CacheMode.ORIGINAL),
                null, null, true, false, 4.0, null, images);
    }

    /**
     * calculate_dimensions(16384, 256/200 = 1.28): w = √(16384 · 1.28) = 144.81, round(4.53) · 32 = 160;
     * h = 144.81 / 1.28 = 113.14, round(3.54) · 32 = 128. At the default area 1024²: w = √(1048576 ·
     * 1.28) = 1158.5, round(36.20) · 32 = 1152; h = 905.1, round(28.28) · 32 = 896. A square image at
     * 1024² is 1024 × 1024, the size the backend states without an image.
     */
    @Test
    void theSizeFollowsTheImage() throws IOException {
        assertInstanceOf(QwenImageEditBackend.class, backend);
        assertEquals(1, backend.conditionImages());
        assertEquals(new ModelDefaults(160, 128, 50, 0, 4.0), backend.defaults(TINY, List.of(picture())));
        Backend standard = Backend.named("qwen-image-edit");
        assertEquals(new ModelDefaults(1152, 896, 50, 0, 4.0), standard.defaults(TINY, List.of(picture())));
        assertEquals(new ModelDefaults(1024, 1024, 50, 0, 4.0), standard.defaults(TINY));
        assertEquals(Map.of("edit_area", "1048576"), standard.settings());
        assertEquals(Map.of("edit_area", "16384"), backend.settings());
        assertEquals(0, Backend.named("qwen-image").conditionImages());
    }

    @Test
    void badEditAreasAreRefusedNamingTheSetting() {
        Backend b = Backend.named("qwen-image-edit");
        for (String bad : List.of("0", "1023", "67108865", "-5", "1e6", "")) {
            InvalidSettingException e = assertThrows(InvalidSettingException.class,
                    () -> b.configure(Map.of("edit_area", bad), k -> { }), bad);
            assertEquals("edit_area", e.key());
        }
        assertEquals("attn.top_keys", assertThrows(InvalidSettingException.class,
                () -> b.configure(Map.of("attn.top_keys", "0.1"), k -> { })).key());
        // 8 × 2048 at 1024 pixels: w = √(1024 · 1/256) = 2 → 0: nothing is left of the short side
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> b.configure(Map.of("edit_area", "1024"), k -> { }).defaults(TINY, List.of(RgbImage.filled(8, 2048,
                        0, 0, 0))));
        assertTrue(e.getMessage().contains("too elongated"), e.getMessage());
    }

    @Test
    void anEditIsOfTheRequestedSize() throws Exception {
        GenerationResult r = pipeline.generate(request(List.of(picture()), 160, 128));
        assertEquals(160, r.image().getWidth());
        assertEquals(128, r.image().getHeight());
        assertEquals(new Shape(1, 16, 16, 20), new Shape(r.latents().shape()));
        GenerationResult other = pipeline.generate(request(List.of(picture()), 64, 96));
        assertEquals(64, other.image().getWidth());
        assertEquals(96, other.image().getHeight());
    }

    /**
     * The cache invariants through the whole pipeline (condition tokens, true CFG): every cache mode
     * at interval 1 gives the original latents bit for bit; at interval 3 with first_enhance 3, 6
     * steps are full at 0, 1, 2, 5 and forecast at 3, 4, and the result moves.
     */
    @Test
    void cacheModesAtIntervalOneAreTheOriginal() throws Exception {
        GenerationRequest original = request(List.of(picture()), 64, 64).withSteps(6);
        GenerationResult reference = pipeline.generate(original);
        assertEquals(6, reference.stats().cache().fullSteps());
        for (CacheMode mode : List.of(CacheMode.HICACHE, CacheMode.TAYLOR, CacheMode.FORA)) {
            GenerationResult cached = pipeline.generate(original.withCache(CacheConfig.of(mode).withInterval(1)));
            assertEquals(reference.latents(), cached.latents(), mode + " at interval 1");
        }
        GenerationResult forecast = pipeline.generate(original.withCache(CacheConfig.of(CacheMode.HICACHE)
                .withInterval(3)));
        assertEquals(4, forecast.stats().cache().fullSteps());
        assertEquals(2, forecast.stats().cache().forecastSteps());
        assertTrue(!reference.latents().equals(forecast.latents()), "forecast steps change the result");
    }

    @Test
    void anEditNeedsExactlyOneImageAndAPromptIsNotEncodedAlone() throws IOException {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> pipeline.generate(request(List.of(), 64, 64)))
                .getMessage().contains("one condition image per request, got 0"));
        assertThrows(IllegalArgumentException.class,
                () -> pipeline.generate(request(List.of(picture(), picture()), 64, 64)));
        assertTrue(assertThrows(IllegalStateException.class, () -> pipeline.encode("a cat")).getMessage()
                .contains("together with its condition image"));
        try (ImagePipeline t2i = Backend.named("qwen-image").open(PipelineSpec.full("builtin:qwen-image-tiny",
                Device.cpu(), TensorType.F32))) {
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> t2i.generate(request(List.of(picture()), 64, 64))).getMessage()
                    .contains("takes no condition image"));
        }
    }

    /**
     * The prompts are encoded with the image the pipeline resized (LANCZOS to 160 × 128), through
     * the processor of processor/ and the vision tower: embeddings made here that way from the
     * original picture give bit-identical latents when handed to the pipeline.
     */
    @Test
    void thePromptsAreEncodedWithTheResizedImage() throws Exception {
        Path root = QwenImageEditBackend.resolve(TINY).root();
        TextEmbeddings positive;
        TextEmbeddings negative;
        try (NDManager m = NDManager.newBaseManager();
                QwenPromptEncoder encoder = QwenPromptEncoder.load(root, TensorType.F32, m, QwenPromptTemplate.EDIT,
                        QwenPromptBatch.DEFAULT_MAX_SEQUENCE_LENGTH);
                QwenVisionTower tower = QwenVisionTower.load(root.resolve("text_encoder"), TensorType.F32, m)) {
            RgbImage resized = Resampling.resize(picture(), 160, 128, Resampling.Filter.LANCZOS);
            QwenVisionProcessor.Result p = new QwenVisionProcessor(VisionPreprocessorConfig.read(root.resolve("processor")))
                    .process(resized);
            NDArray features = tower.encode(m.create(p.pixelValues(), new Shape(p.numPatches(), p.patchDim())),
                    p.gridT(), p.gridH(), p.gridW());
            positive = encoder.encodeWithImage("make it blue", features, p.gridT(), p.gridH(), p.gridW());
            negative = encoder.encodeWithImage(" ", features, p.gridT(), p.gridH(), p.gridW());
        }
        GenerationRequest byPipeline = request(List.of(picture()), 160, 128);
        GenerationRequest given = new GenerationRequest("make it blue", " ", 7, 2, 160, 128, 0,
                CacheConfig.of(CacheMode.ORIGINAL), positive, null, true, false, 4.0, negative, List.of(picture()));
        assertEquals(pipeline.generate(byPipeline).latents(), pipeline.generate(given).latents());
    }

    /**
     * The whole request against its parts run here: the VAE encoder's tokens of the LANCZOS-resized
     * image (160 × 128 → a 10 × 8 grid of 80 tokens) as the denoiser's condition, the prompts encoded
     * with the same image, the pipeline's seeded noise; the latents are bit-identical.
     */
    @Test
    void theConditionTokensAreTheVaeEncodingOfTheResizedImage() throws Exception {
        Path root = QwenImageEditBackend.resolve(TINY).root();
        GenerationRequest r = request(List.of(picture()), 64, 96);
        GenerationResult byPipeline = pipeline.generate(r);
        try (NDManager m = NDManager.newBaseManager();
                QwenPromptEncoder encoder = QwenPromptEncoder.load(root, TensorType.F32, m, QwenPromptTemplate.EDIT,
                        QwenPromptBatch.DEFAULT_MAX_SEQUENCE_LENGTH);
                QwenVisionTower tower = QwenVisionTower.load(root.resolve("text_encoder"), TensorType.F32, m);
                QwenVaeEncoder vae = QwenVaeEncoder.load(root.resolve("vae"), TensorType.F32, m);
                QwenImageTransformer transformer = QwenImageTransformer.load(root.resolve("transformer"), TensorType.F32,
                        m)) {
            RgbImage resized = Resampling.resize(picture(), 160, 128, Resampling.Filter.LANCZOS);
            QwenVisionProcessor.Result p = new QwenVisionProcessor(VisionPreprocessorConfig.read(root.resolve("processor")))
                    .process(resized);
            NDArray features = tower.encode(m.create(p.pixelValues(), new Shape(p.numPatches(), p.patchDim())),
                    p.gridT(), p.gridH(), p.gridW());
            NDArray positive = encoder.encodeWithImage("make it blue", features, p.gridT(), p.gridH(), p.gridW(), m);
            NDArray negative = encoder.encodeWithImage(" ", features, p.gridT(), p.gridH(), p.gridW(), m);
            NDArray tokens = vae.encodeTokens(TensorImages.toTensor(List.of(resized), m));
            assertEquals(new Shape(1, 80, 64), tokens.getShape());
            QwenImageDenoiser denoiser = new QwenImageDenoiser(transformer,
                    FlowMatchEuler.read(root.resolve("scheduler").resolve("scheduler_config.json")));
            QwenImageDenoiser.Result d = denoiser.denoise(new QwenImageDenoiser.Request(
                    new QwenImageDenoiser.Prompt(positive), SeededNoise.gaussian(7, new Shape(1, 16, 12, 8), m), 64, 96,
                    2, CacheConfig.of(CacheMode.ORIGINAL), false, new QwenImageDenoiser.Prompt(negative), 4.0,
                    new QwenImageDenoiser.Condition(tokens, MsRope.Grid.of(8, 10))), m);
            assertEquals(HostTensor.of(d.latents()), byPipeline.latents());
        }
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (java.util.stream.Stream<Path> files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
    }

    @Test
    void theCheckNamesWhatIsMissingOrWrong() throws IOException {
        Path root = QwenImageEditBackend.resolve(TINY).root();
        Path copy = dir.resolve("edit");
        copyTree(root, copy);
        FileTrees.delete(copy.resolve("processor"));
        NoSuchFileException missing = assertThrows(NoSuchFileException.class,
                () -> backend.checkModel(PipelineSpec.full(copy.toString(), Device.cpu(), TensorType.F32)));
        assertTrue(missing.getMessage().contains("image processor config (" + copy.resolve("processor")
                .resolve("preprocessor_config.json") + ")"), missing.getMessage());
        assertTrue(missing.getMessage().contains("Qwen/Qwen-Image-Edit"), missing.getMessage());

        Path t2i = QwenImageBackend.resolve("builtin:qwen-image-tiny").root();
        InvalidModelException wrong = assertThrows(InvalidModelException.class,
                () -> backend.checkModel(PipelineSpec.full(t2i.toString(), Device.cpu(), TensorType.F32)));
        assertTrue(wrong.getMessage().contains("_class_name is QwenImagePipeline, not QwenImageEditPipeline"),
                wrong.getMessage());
        assertTrue(Files.isRegularFile(root.resolve("processor").resolve("vocab.json")), "processor/ holds the tokenizer");
    }
}
