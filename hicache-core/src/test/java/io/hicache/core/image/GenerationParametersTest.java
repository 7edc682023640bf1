package io.hicache.core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerationParametersTest {
    @TempDir
    Path dir;

    private static GenerationParameters flux(String prompt, Map<String, String> extra) {
        return new GenerationParameters(prompt, null, 7, 50, 3.5, 1024, 768, "HiCache",
                "interval=7, max_order=2, first_enhance=3, scale=0.5", "FLUX.1-dev", extra);
    }

    @Test
    void writesIndividualKeysAndAnA1111ParametersValue() {
        Map<String, String> extra = new LinkedHashMap<>();
        extra.put("backend", "flux");
        extra.put("dtype", "bfloat16");
        Map<String, String> text = flux("a red fox, snow", extra).toPngText();

        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("parameters", "a red fox, snow\n"
                + "Steps: 50, Seed: 7, Guidance: 3.5, Size: 1024x768, Mode: HiCache, "
                + "Cache: \"interval=7, max_order=2, first_enhance=3, scale=0.5\", Model: FLUX.1-dev, "
                + "backend: flux, dtype: bfloat16");
        expected.put("prompt", "a red fox, snow");
        expected.put("seed", "7");
        expected.put("steps", "50");
        expected.put("guidance", "3.5");
        expected.put("size", "1024x768");
        expected.put("mode", "HiCache");
        expected.put("cache", "interval=7, max_order=2, first_enhance=3, scale=0.5");
        expected.put("model", "FLUX.1-dev");
        expected.put("backend", "flux");
        expected.put("dtype", "bfloat16");
        assertEquals(expected, text);
        assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(text.keySet()));
    }

    @Test
    void optionalFieldsAreLeftOutAndNegativePromptGetsItsLine() {
        GenerationParameters p = new GenerationParameters("castle", "blurry, low quality", 0, 4, 0.0, 512, 512,
                "original", null, null, Map.of());
        Map<String, String> text = p.toPngText();
        assertEquals("castle\nNegative prompt: blurry, low quality\n"
                + "Steps: 4, Seed: 0, Guidance: 0.0, Size: 512x512, Mode: original", text.get("parameters"));
        assertEquals(List.of("parameters", "prompt", "negative_prompt", "seed", "steps", "guidance", "size", "mode"),
                new ArrayList<>(text.keySet()));
    }

    /**
     * A line break in a prompt must not start a line of its own: A1111 readers would take
     * {@code Steps: 999} for the settings. The exact prompts still round-trip through their own keys.
     */
    @Test
    void lineBreaksInPromptsAreEscapedInTheParametersText() throws IOException {
        GenerationParameters p = new GenerationParameters("a cat\nSteps: 999, Seed: 1", "x\r\nNegative prompt: y", 4,
                20, 3.5, 64, 64, "HiCache", null, null, Map.of());
        assertEquals("a cat\\nSteps: 999, Seed: 1\nNegative prompt: x\\r\\nNegative prompt: y\n"
                + "Steps: 20, Seed: 4, Guidance: 3.5, Size: 64x64, Mode: HiCache", p.a1111Parameters());
        Path file = dir.resolve("p.png");
        PngWriter.write(file, RgbImage.filled(2, 2, 1, 2, 3), p.toPngText());
        assertEquals(p, GenerationParameters.fromPngText(PngReader.readText(file)));
    }

    /** Values with a comma, colon or newline are JSON strings in the settings line (A1111's rule). */
    @Test
    void quotesValuesThatWouldBreakTheSettingsLine() {
        GenerationParameters p = new GenerationParameters("p", null, 1, 2, 1.0, 16, 16, "a:b",
                "say \"hi\"\nback\\slash, tab\t", "plain", Map.of());
        assertEquals("p\nSteps: 2, Seed: 1, Guidance: 1.0, Size: 16x16, Mode: \"a:b\", "
                + "Cache: \"say \\\"hi\\\"\\nback\\\\slash, tab\\t\", Model: plain", p.a1111Parameters());
    }

    @Test
    void roundTripsThroughAPngFile() throws IOException {
        Map<String, String> extra = new LinkedHashMap<>();
        extra.put("Software", "HiCache for Java");
        GenerationParameters p = new GenerationParameters("一只在雪地里的红狐狸 🦊", "模糊", -3, 28, 4.25, 1328, 1328,
                "Taylor-Scaled", "interval=5", "Qwen-Image", extra);
        Path file = dir.resolve("p.png");
        PngWriter.write(file, RgbImage.filled(2, 2, 1, 2, 3), p.toPngText());
        assertEquals(p, GenerationParameters.fromPngText(PngReader.readText(file)));
    }

    @Test
    void refusesMissingOrMalformedValuesAndCollidingExtras() {
        Map<String, String> text = flux("x", Map.of()).toPngText();
        for (String key : List.of("prompt", "seed", "steps", "guidance", "size", "mode")) {
            Map<String, String> missing = new LinkedHashMap<>(text);
            missing.remove(key);
            assertThrows(IllegalArgumentException.class, () -> GenerationParameters.fromPngText(missing), key);
        }
        for (String[] bad : new String[][] {{"seed", "seven"}, {"size", "1024"}, {"size", "ax2"}, {"guidance", "high"}}) {
            Map<String, String> malformed = new LinkedHashMap<>(text);
            malformed.put(bad[0], bad[1]);
            assertThrows(IllegalArgumentException.class, () -> GenerationParameters.fromPngText(malformed), bad[1]);
        }
        assertThrows(IllegalArgumentException.class, () -> flux("x", Map.of("seed", "1")));
    }
}
