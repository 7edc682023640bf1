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

    /**
     * FLUX gives text tokens no positions, so word order reaches the transformer only through the
     * T5 states. In "a red star on a blue background" vs "a blue star on a red background", the
     * state of "red" must depend on whether "star" or "background" follows it. Measured as the
     * relative distance between the two "red" states: the Shapes T5 (neighbour heads) against the
     * same T5 with transformers' random relative bias, which stays almost context-free.
     */
    @Test
    void theShapesT5TellsTheBackgroundColourFromTheShapeColour(@TempDir Path plain) throws Exception {
        String first = "a red star on a blue background";  // "red" is token 1, "blue" token 5
        String second = "a blue star on a red background"; // "red" is token 5
        double shapes = contextShift(dir, first, 1, second, 5);
        double sameWord = contextShift(dir, first, 1, first, 5); // "red" against "blue": two different words
        io.hicache.flux.text.TinyT5.write(plain.resolve("text_encoder_2"), ShapesModel.t5Config(), 12, TensorType.F32,
                false);
        double random = relativeDistance(t5States(plain, dir, first), 1, t5States(plain, dir, second), 5);
        // measured: 1.23 with neighbour heads (as far apart as two different colour words, 1.32)
        // and 0.03 for the random-bias T5, whose attention is spread over the 32 padded tokens
        assertTrue(shapes > 0.5, "Shapes T5: the two 'red' states differ by " + shapes);
        assertTrue(shapes > 0.4 * sameWord, shapes + " vs " + sameWord);
        assertTrue(random < 0.2, "random T5: " + random);
    }

    private static double contextShift(Path model, String a, int i, String b, int j) throws Exception {
        return relativeDistance(t5States(model, model, a), i, t5States(model, model, b), j);
    }

    /** T5 states [32, 64] of {@code prompt}, with the encoder of {@code encoder} and the rest of {@code model}. */
    private static float[] t5States(Path encoder, Path model, String prompt) throws Exception {
        Path mixed = Files.createTempDirectory(encoder, "mixed");
        for (String part : new String[] {"model_index.json", "tokenizer", "tokenizer_2", "text_encoder", "transformer",
            "scheduler", "vae"}) {
            Path from = model.resolve(part);
            if (Files.exists(from)) {
                Files.createSymbolicLink(mixed.resolve(part), from.toAbsolutePath());
            }
        }
        Files.createSymbolicLink(mixed.resolve("text_encoder_2"), encoder.resolve("text_encoder_2").toAbsolutePath());
        try (DiffusionPipeline p = FluxPipeline.load(FluxModelFiles.of(mixed), new PipelineSpec(mixed.toString(),
                Device.cpu(), TensorType.F32, EnumSet.of(PipelineSpec.Component.TEXT_ENCODERS)))) {
            return p.encode(prompt).tokens().data();
        }
    }

    private static double relativeDistance(float[] a, int i, float[] b, int j) {
        int d = ShapesModel.t5Config().dModel;
        double num = 0;
        double den = 0;
        for (int k = 0; k < d; k++) {
            double x = a[i * d + k];
            double y = b[j * d + k];
            num += (x - y) * (x - y);
            den += x * x;
        }
        return Math.sqrt(num / den);
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
