package io.hicache.flux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.PipelineSpec.Component;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.IsolatedHicacheHome;
import io.hicache.core.weights.CheckpointMismatchException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the flux backend finds before loading (configs, checkpoint headers, tokenizers, scheduler,
 * device) and how a load that fails part-way cleans up.
 */
@ExtendWith(IsolatedHicacheHome.class)
class FluxModelCheckTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    Path model;

    @BeforeEach
    void writeModel() throws IOException {
        model = dir.resolve("model");
        SyntheticFluxModels.writeTiny(model, 5, TensorType.F32, true);
    }

    static PipelineSpec full(Path model) {
        return PipelineSpec.full(model.toString(), Device.cpu(), TensorType.F32);
    }

    /** Sets {@code key} of the JSON object in {@code file} to the JSON text {@code value}. */
    static void set(Path file, String key, String value) throws IOException {
        ObjectNode root = (ObjectNode) JSON.readTree(file.toFile());
        root.set(key, JSON.readTree(value));
        Files.writeString(file, root.toString());
    }

    /** Asserts that checkModel refuses the model with an InvalidModelException whose message has every part. */
    InvalidModelException assertInvalid(String... parts) {
        InvalidModelException e = assertThrows(InvalidModelException.class,
                () -> Backend.named("flux").checkModel(full(model)));
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), e.getMessage() + " lacks " + part);
        }
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    @Test
    void theTinyModelPassesTheCheck() throws IOException {
        Backend.named("flux").checkModel(full(model));
        Backend.named("flux").checkModel(PipelineSpec.full("builtin:flux-tiny", Device.cpu(), TensorType.BF16));
    }

    @Test
    void absurdLayerCountsAreRefusedBeforeAnythingIsBuilt() throws IOException {
        String[][] cases = {
            {"transformer/config.json", "num_layers"},
            {"transformer/config.json", "num_single_layers"},
            {"text_encoder_2/config.json", "num_layers"},
            {"text_encoder/config.json", "num_hidden_layers"},
            {"vae/config.json", "layers_per_block"},
        };
        for (String[] c : cases) {
            Path file = model.resolve(c[0]);
            String original = Files.readString(file);
            for (String value : new String[] {"1000000000", "1000"}) {
                set(file, c[1], value);
                assertInvalid(c[1], value);
            }
            Files.writeString(file, original);
        }
        set(model.resolve("text_encoder_2/config.json"), "num_layers", "1000");
        assertInvalid(model.resolve("text_encoder_2").toString(), "num_layers = 1000 asks for 1000 blocks", "holds 2");
    }

    @Test
    void configIntegersAreParsedStrictly() throws IOException {
        String[][] cases = {
            {"transformer/config.json", "num_layers"},
            {"transformer/config.json", "num_attention_heads"},
            {"text_encoder_2/config.json", "d_model"},
            {"text_encoder/config.json", "hidden_size"},
            {"vae/config.json", "latent_channels"},
        };
        for (String[] c : cases) {
            Path file = model.resolve(c[0]);
            String original = Files.readString(file);
            for (String value : new String[] {"2.5", "4294967298", "\"two\"", "null"}) {
                set(file, c[1], value);
                assertInvalid(file.toString(), "'" + c[1] + "'");
            }
            Files.writeString(file, original);
        }
    }

    @Test
    void absentTransformerKeysTakeDiffusersDefaultsOnly() throws IOException {
        Path file = model.resolve("transformer/config.json");
        ObjectNode root = (ObjectNode) JSON.readTree(file.toFile());
        root.remove("guidance_embeds");
        root.set("out_channels", JSON.nullNode());
        Files.writeString(file, root.toString());
        FluxConfig c = FluxConfig.read(file);
        assertFalse(c.guidanceEmbeds(), "diffusers' default");
        assertEquals(c.inChannels(), c.outChannels(), "out_channels null means in_channels, as in diffusers");
    }

    @Test
    void everyDeterministicProblemIsFoundBeforeLoading() throws IOException {
        Path scheduler = model.resolve("scheduler/scheduler_config.json");
        String original = Files.readString(scheduler);
        set(scheduler, "shift", "-1e308");
        assertInvalid(scheduler.toString(), "shift");
        Files.writeString(scheduler, original);

        for (String config : List.of("transformer/config.json", "text_encoder/config.json",
                "text_encoder_2/config.json", "vae/config.json", "scheduler/scheduler_config.json")) {
            Path file = model.resolve(config);
            String text = Files.readString(file);
            Files.writeString(file, text.substring(0, text.length() / 2));
            assertInvalid(file.toString(), "JSON");
            Files.writeString(file, text);
        }

        // a wrong shape: the config and the checkpoint disagree on CLIP's MLP width
        Path clip = model.resolve("text_encoder/config.json");
        String clipConfig = Files.readString(clip);
        set(clip, "intermediate_size", "128");
        assertInvalid("text_encoder", "wrong shape", "fc1.weight");
        Files.writeString(clip, clipConfig);

        Path t5Tokenizer = model.resolve("tokenizer_2/tokenizer.json");
        String tokenizer = Files.readString(t5Tokenizer);
        Files.writeString(t5Tokenizer, "{\"model\": {\"type\": \"Nonsense\"}}");
        assertInvalid(t5Tokenizer.toString());
        Files.writeString(t5Tokenizer, tokenizer);

        Backend.named("flux").checkModel(full(model)); // everything restored

        Path shard;
        try (Stream<Path> s = Files.list(model.resolve("text_encoder_2"))) {
            shard = s.filter(p -> p.getFileName().toString().matches(".*-00002-of-.*\\.safetensors")).findFirst()
                    .orElseThrow();
        }
        Files.delete(shard);
        NoSuchFileException missing = assertThrows(NoSuchFileException.class,
                () -> Backend.named("flux").checkModel(full(model)));
        assertTrue(missing.getFile().contains(shard.getFileName().toString()), missing.getFile());
    }

    @Test
    void componentsThatDoNotFitTogetherAreRefused() throws IOException {
        // a T5 whose width the transformer does not take: each file is self-consistent
        Path t5 = model.resolve("text_encoder_2");
        io.hicache.flux.text.T5Config wide = new io.hicache.flux.text.T5Config(48, 64, 8, 4, 2,
                io.hicache.flux.text.TinyT5.VOCAB_SIZE, 32, 128, 1e-6);
        io.hicache.core.util.FileTrees.delete(t5);
        io.hicache.flux.text.TinyT5.write(t5, wide, 9, TensorType.F32, false);
        assertInvalid(t5.toString(), "d_model 48", "joint_attention_dim 32");
    }

    @Test
    void aGpuTheEngineDoesNotSeeGivesOneShortLine() {
        Device missing = Device.gpu(HiCacheRuntime.gpuCount());
        PipelineSpec spec = new PipelineSpec("builtin:flux-tiny", missing, TensorType.F32,
                EnumSet.of(Component.TRANSFORMER));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backend.named("flux").open(spec));
        assertTrue(e.getMessage().contains("GPU " + missing.getDeviceId() + " requested"), e.getMessage());
        assertTrue(e.getMessage().length() < 200, e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Backend.named("flux").checkModel(spec));
    }

    @Test
    void aTextEncoderShapeMismatchReportsTheRealCause() throws IOException {
        set(model.resolve("text_encoder/config.json"), "intermediate_size", "128");
        CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                () -> Backend.named("flux").open(full(model)));
        assertTrue(e.getMessage().contains("text_model.encoder.layers.0.mlp.fc1.weight")
                || e.getMessage().contains("encoder.layers.0.mlp.fc1.weight"), e.getMessage());
    }

    /**
     * Loads that fail at each component in turn (the check skipped, so the failure comes from the
     * load itself) report that component's mismatch and leave no array behind.
     */
    @Test
    void aLoadFailingAtAnyStageFreesWhatWasLoaded() throws IOException {
        String[][] stages = {
            {"transformer/config.json", "joint_attention_dim", "48", "context_embedder.weight"},
            {"vae/config.json", "latent_channels", "8", "decoder.conv_in.weight"},
            {"text_encoder_2/config.json", "d_ff", "128", "DenseReluDense.wi_0.weight"},
            {"text_encoder/config.json", "intermediate_size", "128", "mlp.fc1.weight"},
        };
        for (String[] stage : stages) {
            Path file = model.resolve(stage[0]);
            String original = Files.readString(file);
            set(file, stage[1], stage[2]);
            try (NDManager parent = NDManager.newBaseManager()) {
                CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                        () -> FluxPipeline.loadChecked(FluxModelFiles.of(model), full(model), parent));
                assertTrue(e.getMessage().contains(stage[3]), stage[0] + ": " + e.getMessage());
                assertEquals(List.of(), parent.getManagedArrays(), stage[0] + ": arrays left behind");
            }
            Files.writeString(file, original);
        }
    }

    @Test
    void aClosedPipelineSaysSoAndClosesOnce() throws IOException {
        ImagePipeline p = Backend.named("flux").open(full(model));
        p.close();
        p.close();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> p.generate(GenerationRequest.of("a cat", 1, io.hicache.core.cache.CacheConfig.defaults())
                        .withSize(64, 64).withSteps(2)));
        assertEquals("the pipeline is closed", e.getMessage());
        assertEquals("the pipeline is closed",
                assertThrows(IllegalStateException.class, () -> p.encode("a cat")).getMessage());
    }

    @Test
    void randomBytesInTokenizerFilesNameTheFileAndTheProblem() throws IOException {
        byte[] noise = new byte[4096];
        new Random(3).nextBytes(noise);
        for (String name : List.of("tokenizer/vocab.json", "tokenizer/merges.txt", "tokenizer/tokenizer_config.json",
                "tokenizer_2/tokenizer.json")) {
            Path file = model.resolve(name);
            byte[] original = Files.readAllBytes(file);
            Files.write(file, noise);
            InvalidModelException e = assertInvalid(file.toString());
            assertFalse(e.getMessage().contains("Input length"), e.getMessage());
            assertTrue(e.getMessage().contains("UTF-8") || e.getMessage().contains("JSON"), e.getMessage());
            Files.write(file, original);
        }
    }
}
