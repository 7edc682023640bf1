package io.hicache.qwen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.image.RgbImage;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.GenerationResult;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.InputShapes;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.pipeline.ModelDefaults;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.PipelineSpec.Component;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.sampling.SeededNoise;
import io.hicache.core.testing.IsolatedHicacheHome;
import io.hicache.core.util.FileTrees;
import io.hicache.qwen.text.QwenTextEncoder;
import io.hicache.qwen.transformer.QwenImageDenoiser;
import io.hicache.qwen.transformer.QwenImageTransformer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prompt → image through the {@code qwen-image} backend found by name: the built-in tiny model in
 * the real repository layout, true CFG with a negative prompt, both text-encoder naming layouts,
 * the pre-load file check, and the pipeline against the denoiser run by hand.
 */
@ExtendWith(IsolatedHicacheHome.class)
class QwenImagePipelineTest {
    static final String TINY = "builtin:qwen-image-tiny";
    static final int WIDTH = 128;
    static final int HEIGHT = 96;
    static ImagePipeline pipeline;

    @BeforeAll
    static void open() throws IOException {
        pipeline = Backend.named("qwen-image").open(PipelineSpec.full(TINY, Device.cpu(), TensorType.F32));
    }

    @AfterAll
    static void close() {
        if (pipeline != null) {
            pipeline.close();
        }
    }

    static GenerationRequest request(String prompt, String negative, long seed, CacheConfig cache, double cfg) {
        return new GenerationRequest(prompt, negative, seed, 6, WIDTH, HEIGHT, 0, cache, null, null, true, false, cfg,
                null, List.of());
    }

    @Test
    void backendIsFoundByNameWithTheModelCardDefaultsAndShapes() throws IOException {
        Backend b = Backend.named("qwen-image");
        assertInstanceOf(QwenImageBackend.class, b);
        assertEquals(new ModelDefaults(1328, 1328, 50, 0, 4.0), b.defaults(TINY));
        assertEquals(new InputShapes(32, 0, 16, 8), b.inputShapes(TINY), "text width = the tiny encoder's hidden size");
        if (System.getenv(QwenImageBackend.MODEL_PATH_ENV) == null) {
            assertEquals(TINY, b.defaultModel());
        }
    }

    @Test
    void builtinModelHasTheRealFileNames() throws IOException {
        Path root = QwenImageBackend.resolve(TINY).root();
        for (int k = 1; k <= 9; k++) {
            assertTrue(Files.isRegularFile(root.resolve(String.format(
                    "transformer/diffusion_pytorch_model-%05d-of-00009.safetensors", k))), "transformer shard " + k);
        }
        for (int k = 1; k <= 4; k++) {
            assertTrue(Files.isRegularFile(root.resolve(String.format("text_encoder/model-%05d-of-00004.safetensors", k))),
                    "text encoder shard " + k);
        }
        for (String f : List.of("model_index.json", "scheduler/scheduler_config.json", "transformer/config.json",
                "transformer/diffusion_pytorch_model.safetensors.index.json", "text_encoder/config.json",
                "text_encoder/model.safetensors.index.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
                "tokenizer/tokenizer_config.json", "vae/config.json", "vae/diffusion_pytorch_model.safetensors")) {
            assertTrue(Files.isRegularFile(root.resolve(f)), f);
        }
        assertEquals(9, count(root.resolve("transformer"), "diffusion_pytorch_model-"));
        assertEquals(4, count(root.resolve("text_encoder"), "model-"));
    }

    private static long count(Path dir, String prefix) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix)
                    && p.getFileName().toString().endsWith(".safetensors")).count();
        }
    }

    @Test
    void promptToImageWithTrueCfg() throws Exception {
        GenerationResult r = pipeline.generate(request("a red star", " ", 7, CacheConfig.defaults().withInterval(3), 4.0));
        assertEquals(WIDTH, r.image().getWidth());
        assertEquals(HEIGHT, r.image().getHeight());
        assertArrayEquals(new long[] {1, 16, HEIGHT / 8, WIDTH / 8}, r.latents().shape());
        assertEquals(6, r.stats().stepSeconds().size());
        assertTrue(r.stats().totalFlops() > 0);
        GenerationResult noCfg = pipeline.generate(request("a red star", null, 7, CacheConfig.defaults().withInterval(3), 4.0));
        assertNotEquals(noCfg.latents(), r.latents(), "a negative prompt with scale 4 changes the result");
        GenerationResult scaleOne = pipeline.generate(request("a red star", " ", 7, CacheConfig.defaults().withInterval(3), 1.0));
        assertEquals(noCfg.latents(), scaleOne.latents(), "scale 1 runs only the conditional branch (diffusers' rule)");
        assertTrue(r.stats().totalFlops() > 1.9 * noCfg.stats().totalFlops(), "true CFG runs both branches");
    }

    @Test
    void negativeSpaceKeepsSixTokensWithoutPooledVector() throws Exception {
        TextEmbeddings e = pipeline.encode(" ");
        assertArrayEquals(new long[] {1, 6, 32}, e.tokens().shape(), "\" \" in the T2I template keeps 6 tokens");
        assertNull(e.pooled());
    }

    @Test
    void embeddedGuidanceIsIgnored() throws Exception {
        GenerationRequest r = request("a blue circle", null, 3, CacheConfig.of(CacheMode.ORIGINAL), 4.0);
        GenerationRequest guided = new GenerationRequest(r.prompt(), null, 3, 6, WIDTH, HEIGHT, 3.5, r.cache(), null,
                null, false, false, 4.0, null, List.of());
        assertEquals(pipeline.generate(r).latents(), pipeline.generate(guided).latents());
    }

    /** Original mode through the pipeline is the denoiser without any cache, run by hand on the same inputs. */
    @Test
    void originalModeIsTheUncachedDenoiserBitForBit() throws Exception {
        TextEmbeddings cond = pipeline.encode("a small green square");
        TextEmbeddings neg = pipeline.encode(" ");
        long seed = 5;
        GenerationRequest r = new GenerationRequest("a small green square", " ", seed, 6, WIDTH, HEIGHT, 0,
                CacheConfig.of(CacheMode.ORIGINAL), cond, null, false, false, 4.0, neg, List.of());
        HostTensor viaPipeline = pipeline.generate(r).latents();
        HostTensor interval1 = pipeline.generate(new GenerationRequest("a small green square", " ", seed, 6, WIDTH,
                HEIGHT, 0, CacheConfig.defaults().withInterval(1), cond, null, false, false, 4.0, neg, List.of()))
                .latents();
        assertEquals(viaPipeline, interval1, "interval 1 = original");

        Path root = QwenImageBackend.resolve(TINY).root();
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
                QwenImageTransformer t = QwenImageTransformer.load(root, TensorType.F32, m)) {
            QwenImageDenoiser d = new QwenImageDenoiser(t,
                    FlowMatchEuler.read(root.resolve("scheduler").resolve("scheduler_config.json")));
            NDArray noise = SeededNoise.gaussian(seed, new Shape(1, 16, HEIGHT / 8, WIDTH / 8), m);
            QwenImageDenoiser.Result byHand = d.denoise(new QwenImageDenoiser.Request(
                    new QwenImageDenoiser.Prompt(cond.tokens().toNDArray(m)), noise, WIDTH, HEIGHT, 6, null, false,
                    new QwenImageDenoiser.Prompt(neg.tokens().toNDArray(m)), 4.0), m);
            assertEquals(HostTensor.of(byHand.latents()), viaPipeline);
        }
    }

    @Test
    void releasedEncoderLeavesEmbeddingRunsWorking() throws Exception {
        try (ImagePipeline p = Backend.named("qwen-image").open(PipelineSpec.full(TINY, Device.cpu(), TensorType.F32))) {
            TextEmbeddings e = p.encode("a cat");
            long before = p.parameterBytes();
            p.releaseTextEncoders();
            assertTrue(p.parameterBytes() < before, "the encoder's weights are freed");
            assertThrows(IllegalStateException.class, () -> p.encode("a dog"));
            GenerationRequest r = new GenerationRequest("a cat", null, 1, 2, WIDTH, HEIGHT, 0,
                    CacheConfig.of(CacheMode.ORIGINAL), e, null, true, false);
            assertEquals(WIDTH, p.generate(r).image().getWidth());
        }
    }

    @Test
    void onlyTheRequestedComponentsAreLoaded(@TempDir Path dir) throws Exception {
        SyntheticQwenModels.writeTiny(dir, 3, TensorType.F32, false);
        FileTrees.delete(dir.resolve("vae"));
        FileTrees.delete(dir.resolve("text_encoder"));
        PipelineSpec latentOnly = new PipelineSpec(dir.toString(), Device.cpu(), TensorType.F32,
                EnumSet.of(Component.TRANSFORMER));
        try (ImagePipeline p = Backend.named("qwen-image").open(latentOnly); NDManager m = NDManager.newBaseManager()) {
            TextEmbeddings e = new TextEmbeddings(HostTensor.of(SeededNoise.gaussian(2, new Shape(1, 5, 32), m)), null);
            GenerationRequest r = new GenerationRequest("x", null, 1, 2, WIDTH, HEIGHT, 0,
                    CacheConfig.of(CacheMode.ORIGINAL), e, null, false, false);
            assertArrayEquals(new long[] {1, 16, HEIGHT / 8, WIDTH / 8}, p.generate(r).latents().shape());
            assertThrows(IllegalStateException.class, () -> p.encode("x"));
            TextEmbeddings pooled = new TextEmbeddings(e.tokens(), e.tokens());
            IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
                    () -> p.generate(new GenerationRequest("x", null, 1, 2, WIDTH, HEIGHT, 0,
                            CacheConfig.of(CacheMode.ORIGINAL), pooled, null, false, false)));
            assertTrue(wrong.getMessage().contains("no pooled"), wrong.getMessage());
        }
    }

    @Test
    void missingFilesAreNamedBeforeLoadingWithHowToGetThem(@TempDir Path dir) throws Exception {
        SyntheticQwenModels.writeTiny(dir, 3, TensorType.F32, true);
        Files.delete(dir.resolve("tokenizer").resolve("merges.txt"));
        FileTrees.delete(dir.resolve("vae"));
        Backend b = Backend.named("qwen-image");
        NoSuchFileException e = assertThrows(NoSuchFileException.class,
                () -> b.open(PipelineSpec.full(dir.toString(), Device.cpu(), TensorType.F32)));
        assertTrue(e.getMessage().contains("merges.txt"), e.getMessage());
        assertTrue(e.getMessage().contains("VAE config"), e.getMessage());
        assertTrue(e.getMessage().contains("huggingface-cli download Qwen/Qwen-Image"), e.getMessage());
        // a component that is not asked for is not required
        b.checkModel(new PipelineSpec(dir.toString(), Device.cpu(), TensorType.F32, EnumSet.of(Component.TRANSFORMER)));

        Files.delete(dir.resolve("transformer").resolve("diffusion_pytorch_model-00004-of-00009.safetensors"));
        NoSuchFileException shard = assertThrows(NoSuchFileException.class, () -> b.checkModel(
                new PipelineSpec(dir.toString(), Device.cpu(), TensorType.F32, EnumSet.of(Component.TRANSFORMER))));
        assertTrue(shard.getMessage().contains("00004-of-00009"), shard.getMessage());
    }

    /** The same weights named model.* (as the files are) or model.language_model.* (newer transformers) give the same image. */
    @Test
    void bothTextEncoderLayoutsGiveIdenticalImages(@TempDir Path dir) throws Exception {
        Path legacy = dir.resolve("legacy");
        Path nested = dir.resolve("nested");
        SyntheticQwenModels.writeTiny(legacy, 9, TensorType.F32, true, QwenTextEncoder.Layout.LEGACY);
        SyntheticQwenModels.writeTiny(nested, 9, TensorType.F32, true, QwenTextEncoder.Layout.NESTED);
        String nestedIndex = Files.readString(nested.resolve("text_encoder").resolve("model.safetensors.index.json"));
        assertTrue(nestedIndex.contains("model.language_model.layers.0."), "the nested copy uses the newer names");
        assertFalse(Files.readString(legacy.resolve("text_encoder").resolve("model.safetensors.index.json"))
                .contains("language_model"));
        RgbImage[] images = new RgbImage[2];
        HostTensor[] latents = new HostTensor[2];
        Path[] roots = {legacy, nested};
        for (int i = 0; i < 2; i++) {
            try (ImagePipeline p = Backend.named("qwen-image")
                    .open(PipelineSpec.full(roots[i].toString(), Device.cpu(), TensorType.F32))) {
                GenerationResult r = p.generate(request("a yellow triangle", " ", 4, CacheConfig.defaults(), 4.0));
                images[i] = RgbImage.fromBufferedImage(r.image());
                latents[i] = r.latents();
            }
        }
        assertEquals(latents[0], latents[1]);
        assertEquals(images[0], images[1]);
    }

    /** Wrong files are refused by the pre-load check with the file named, whatever the components asked for. */
    @Test
    void inconsistentModelsAreRefusedBeforeLoading(@TempDir Path dir) throws Exception {
        Backend b = Backend.named("qwen-image");
        SyntheticQwenModels.writeTiny(dir, 3, TensorType.F32, false);
        PipelineSpec textOnly = new PipelineSpec(dir.toString(), Device.cpu(), TensorType.F32,
                EnumSet.of(Component.TEXT_ENCODERS));
        b.checkModel(textOnly);
        Path config = dir.resolve("transformer").resolve("config.json");
        String original = Files.readString(config);
        Files.writeString(config, original.replaceFirst("\"joint_attention_dim\"\\s*:\\s*32", "\"joint_attention_dim\": 24"));
        InvalidModelException width = assertThrows(InvalidModelException.class, () -> b.checkModel(textOnly));
        assertTrue(width.getMessage().contains("hidden_size 32 differs from the transformer's joint_attention_dim 24"),
                width.getMessage());
        assertThrows(InvalidModelException.class, () -> b.checkModel(PipelineSpec.full(dir.toString(), Device.cpu(),
                TensorType.F32)), "the transformer's own tensors do not match that width either");
        Files.writeString(config, original);

        Path index = dir.resolve("model_index.json");
        Files.writeString(index, Files.readString(index).replace("\"QwenImagePipeline\"", "\"QwenImageEditPipeline\""));
        InvalidModelException edit = assertThrows(InvalidModelException.class, () -> b.open(textOnly));
        assertTrue(edit.getMessage().contains("model_index.json") && edit.getMessage().contains("QwenImageEditPipeline"),
                edit.getMessage());
    }
}
