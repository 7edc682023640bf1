package io.hicache.flux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.hicache.core.diffusion.DiffusionPipeline;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.pipeline.ModelDefaults;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.shapes.ShapeAttributes;
import io.hicache.core.shapes.ShapePrompt;
import io.hicache.flux.text.ClipTokenizer;
import io.hicache.flux.text.T5Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Shapes model's layout, tokenizers and model-carried defaults, on its untrained weights. */
class ShapesModelTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void write() throws Exception {
        ShapesModel.writeInitial(dir, 11);
    }

    @Test
    void theModelCarriesItsSamplingDefaults() throws Exception {
        ModelDefaults d = new FluxBackend().defaults(dir.toString());
        assertEquals(new ModelDefaults(128, 128, 28, 0, 1), d);
        assertEquals(ShapesModel.DEFAULTS, d);
    }

    @Test
    void aModelWithoutDefaultsGetsFluxDevOrSchnellSampling(@TempDir Path other) throws Exception {
        ShapesModel.writeInitial(other, 11);
        Files.writeString(other.resolve("model_index.json"), TinyFlux.MODEL_INDEX);
        assertEquals(new ModelDefaults(1024, 1024, 4, 0, 1), new FluxBackend().defaults(other.toString()));
    }

    @Test
    void invalidDefaultsAreReportedWithTheirFile(@TempDir Path other) throws Exception {
        ShapesModel.writeInitial(other, 11);
        Files.writeString(other.resolve("model_index.json"), ShapesModel.modelIndex().replace("\"width\": 128", "\"width\": 100"));
        InvalidModelException e = assertThrows(InvalidModelException.class,
                () -> new FluxBackend().defaults(other.toString()));
        assertTrue(e.getMessage().contains("model_index.json") && e.getMessage().contains(FluxBackend.DEFAULTS_KEY)
                && e.getMessage().contains("100"), e.getMessage());
    }

    @Test
    void everyGrammarWordIsOneTokenInBothTokenizers() throws Exception {
        String longest = ShapePrompt.of(ShapeAttributes.all().get(ShapeAttributes.all().size() - 1)).text();
        int words = longest.split(" ").length;
        try (T5Tokenizer t5 = T5Tokenizer.load(dir.resolve("tokenizer_2"), ShapesModel.TEXT_TOKENS)) {
            for (ShapeAttributes a : ShapeAttributes.all()) {
                String prompt = ShapePrompt.of(a).text();
                assertEquals(prompt.split(" ").length, t5.contentIds(prompt).length, prompt);
            }
            assertTrue(words + 1 <= ShapesModel.TEXT_TOKENS);
        }
        try (ClipTokenizer clip = ClipTokenizer.load(dir.resolve("tokenizer"))) {
            assertEquals(words, clip.contentIds(longest).length, longest);
        }
    }

    @Test
    void t5PaddingStopsAtTheTokenizersModelMaxLength() throws Exception {
        assertEquals(ShapesModel.TEXT_TOKENS, T5Tokenizer.modelMaxLength(dir.resolve("tokenizer_2")));
        try (DiffusionPipeline p = FluxPipeline.load(FluxModelFiles.of(dir), new PipelineSpec(dir.toString(),
                Device.cpu(), TensorType.F32, EnumSet.of(PipelineSpec.Component.TEXT_ENCODERS)))) {
            TextEmbeddings e = p.encode("a small red star");
            long[] shape = e.tokens().shape();
            assertEquals(ShapesModel.TEXT_TOKENS, shape[shape.length - 2]);
            assertEquals(ShapesModel.transformerConfig().jointAttentionDim(), shape[shape.length - 1]);
        }
        // FLUX.1's own tokenizer configuration (model_max_length 512) keeps the pipeline's 512 / 256
        Path flux = dir.resolve("flux-tokenizer");
        io.hicache.flux.text.TinyT5.writeTokenizer(flux);
        assertEquals(T5Tokenizer.DEV_MAX_LENGTH, T5Tokenizer.modelMaxLength(flux));
        assertArrayEquals(new int[] {Integer.MAX_VALUE}, new int[] {T5Tokenizer.modelMaxLength(dir.resolve("absent"))});
    }
}
