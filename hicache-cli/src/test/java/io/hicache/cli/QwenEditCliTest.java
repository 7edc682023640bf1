package io.hicache.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.image.PngReader;
import io.hicache.core.image.PngWriter;
import io.hicache.core.image.RgbImage;
import io.hicache.core.testing.IsolatedHicacheHome;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher on the qwen-image-edit backend (the built-in tiny model): condition images from
 * --image and from a prompt file's Image column, the output size that follows them, what the run
 * records about them, and the errors that stop a run before anything loads.
 */
@ExtendWith(IsolatedHicacheHome.class)
class QwenEditCliTest {
    /** The shipped example image: 256 × 200. */
    static final Path EXAMPLE_IMAGE = Path.of("..", "resources", "prompts", "images", "star-and-circle.png");
    static final Path EXAMPLE_PROMPTS = Path.of("..", "resources", "prompts", "edit-examples.tsv");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static String[] edit(String... extra) {
        List<String> args = new ArrayList<>(List.of("--backend", "qwen-image-edit", "--model-path",
                "builtin:qwen-image-edit-tiny", "--steps", "2", "--device", "cpu"));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    static String manifestText(Path out) {
        try {
            return Files.readString(out.resolve("manifest.jsonl"));
        } catch (IOException e) {
            return "(no manifest: " + e + ")";
        }
    }

    static List<JsonNode> manifest(Path out) throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("manifest.jsonl"))) {
            lines.add(JSON.readTree(line));
        }
        return lines;
    }

    /**
     * 256 × 200 at an edit area of 16384: calculate_dimensions gives w = √(16384 · 1.28) = 144.81,
     * round(144.81 / 32) = round(4.53) = 5 → 160, and h = 144.81 / 1.28 = 113.14, round(3.54) = 4 →
     * 128; the output is that size (already a multiple of 16). The run records the image's path as
     * given, its size and the edit area.
     */
    @Test
    void nonSquareImageGivesAnImageOfItsCalculatedSize() throws Exception {
        Path out = dir.resolve("out");
        CliRun r = CliRun.of(edit("--image", EXAMPLE_IMAGE.toString(), "--edit-area", "16384", "--prompt",
                "make the star blue", "--negative-prompt", " ", "--output-dir", out.toString()));
        assertEquals(0, r.exitCode(), r.err());
        RgbImage image = PngReader.readImage(out.resolve("img_0.png"));
        assertEquals(160, image.width());
        assertEquals(128, image.height());

        JsonNode entry = manifest(out).get(0);
        assertEquals("ok", entry.get("status").asText());
        assertEquals(EXAMPLE_IMAGE.toString(), entry.get("image").get("path").asText());
        assertEquals(256, entry.get("image").get("width").asInt());
        assertEquals(200, entry.get("image").get("height").asInt());

        Map<String, String> text = PngReader.readText(out.resolve("img_0.png"));
        JsonNode record = JSON.readTree(text.get(OutputFiles.RECORD));
        assertEquals(EXAMPLE_IMAGE.toString(), record.get("image").asText());
        assertEquals("256x200", record.get("image_size").asText());
        assertEquals(16, record.get("image_sha256").asText().length());
        assertEquals(160, record.get("width").asInt());
        assertEquals(128, record.get("height").asInt());
        assertEquals(4.0, record.get("true_cfg_scale").asDouble(), "the Edit pipeline's default true CFG");
        assertEquals("16384", record.get("backend_settings").get("edit_area").asText());
        assertEquals(EXAMPLE_IMAGE.toString(), text.get("image"), "shown to image tools too");
        assertEquals("256x200", text.get("image_size"));

        // the same command again: the image is recognised as done
        CliRun again = CliRun.of(edit("--image", EXAMPLE_IMAGE.toString(), "--edit-area", "16384", "--prompt",
                "make the star blue", "--negative-prompt", " ", "--output-dir", out.toString()));
        assertEquals(0, again.exitCode(), again.err());
        assertEquals(1, manifest(out).size());
    }

    /** --width and --height win over the size that follows the image. */
    @Test
    void explicitSizeWins() throws Exception {
        Path out = dir.resolve("out");
        CliRun r = CliRun.of(edit("--image", EXAMPLE_IMAGE.toString(), "--edit-area", "16384", "--prompt", "x",
                "--width", "64", "--height", "96", "--output-dir", out.toString()));
        assertEquals(0, r.exitCode(), r.err());
        RgbImage image = PngReader.readImage(out.resolve("img_0.png"));
        assertEquals(64, image.width());
        assertEquals(96, image.height());
    }

    /**
     * An Image column gives each row its image (PNG or JPEG), relative to the prompt file: 256 × 200 → 160 × 128
     * (above) and 200 × 256 → 128 × 160 (the same numbers with the sides swapped: ratio 0.78125,
     * w = √(16384 · 0.78125) = 113.14 → 128, h = 113.14 / 0.78125 = 144.81 → 160).
     */
    @Test
    void imageColumnOfATsvPromptFile() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("edits"));
        Files.createDirectories(folder.resolve("pictures"));
        PngWriter.write(folder.resolve("pictures/wide.png"), RgbImage.filled(256, 200, 10, 200, 30), Map.of());
        ImageIO.write(RgbImage.filled(200, 256, 200, 10, 30).toBufferedImage(), "jpeg",
                folder.resolve("pictures/tall.jpg").toFile());
        Path prompts = Files.writeString(folder.resolve("edits.tsv"),
                "Prompt\tImage\nturn it blue\tpictures/wide.png\nturn it green\tpictures/tall.jpg\n");
        Path out = dir.resolve("out");
        CliRun r = CliRun.of(edit("--prompt-file", prompts.toString(), "--edit-area", "16384", "--output-dir",
                out.toString()));
        assertEquals(0, r.exitCode(), r.err());
        RgbImage first = PngReader.readImage(out.resolve("img_0.png"));
        RgbImage second = PngReader.readImage(out.resolve("img_1.png"));
        assertEquals(List.of(160, 128, 128, 160), List.of(first.width(), first.height(), second.width(),
                second.height()));
        List<JsonNode> entries = manifest(out);
        assertEquals("pictures/wide.png", entries.get(0).get("image").get("path").asText());
        assertEquals("pictures/tall.jpg", entries.get(1).get("image").get("path").asText());
        assertEquals(200, entries.get(1).get("image").get("width").asInt());
    }

    /** The shipped example prompts run as the README shows them (first row). */
    @Test
    void shippedEditExamplesRun() throws Exception {
        Path out = dir.resolve("out");
        CliRun r = CliRun.of(edit("--prompt-file", EXAMPLE_PROMPTS.toString(), "--limit", "1", "--edit-area", "16384",
                "--output-dir", out.toString()));
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(160, PngReader.readImage(out.resolve("img_0.png")).width());
        assertTrue(Files.size(EXAMPLE_IMAGE) < 50_000, "the shipped image stays small");
    }

    @Test
    void initTinyWritesALoadableEditModel() throws Exception {
        Path model = dir.resolve("tiny");
        CliRun init = CliRun.of("init-tiny", "qwen-image-edit", model.toString());
        assertEquals(0, init.exitCode(), init.err());
        assertTrue(Files.isRegularFile(model.resolve("processor").resolve("preprocessor_config.json")));
        assertTrue(Files.readString(model.resolve("model_index.json")).contains("QwenImageEditPipeline"));
        Path out = dir.resolve("out");
        CliRun r = CliRun.of("--backend", "qwen-image-edit", "--model-path", model.toString(), "--image",
                EXAMPLE_IMAGE.toString(), "--edit-area", "4096", "--prompt", "a cat", "--steps", "2", "--device",
                "cpu", "--output-dir", out.toString());
        assertEquals(0, r.exitCode(), () -> r.err() + manifestText(out));
        // 4096 · 1.28: w = 72.41 → round(2.26) = 2 → 64, h = 56.57 → round(1.77) = 2 → 64
        assertEquals(64, PngReader.readImage(out.resolve("img_0.png")).width());
    }

    /** Runs a command that must fail with exit 2 and one line, before any model is looked at, writing nothing. */
    void expectError(String message, String... args) {
        Path out = dir.resolve("never");
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--model-path", dir.resolve("no-model").toString(), "--device", "cpu", "--output-dir",
                out.toString()));
        CliRun r = CliRun.of(all.toArray(String[]::new));
        assertEquals(2, r.exitCode(), "exit code for " + List.of(args) + ": " + r.err());
        assertTrue(r.err().contains(message), "expected '" + message + "' in: " + r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertFalse(Files.exists(out), "nothing written for " + List.of(args));
    }

    @Test
    void badImagesAndOptionsStopTheRunBeforeAnythingLoads() throws Exception {
        Path missing = dir.resolve("missing.png");
        expectError("--image: cannot read the image " + missing + ": no such file",
                "--backend", "qwen-image-edit", "--prompt", "x", "--image", missing.toString());
        Path notAnImage = Files.writeString(dir.resolve("notes.png"), "just text\n");
        expectError("--image: cannot read the image " + notAnImage,
                "--backend", "qwen-image-edit", "--prompt", "x", "--image", notAnImage.toString());
        expectError("the qwen-image-edit backend edits an image: give --image FILE",
                "--backend", "qwen-image-edit", "--prompt", "x");
        expectError("--edit-area: the edit area must be 1024 (32x32) to 67108864 (8192x8192) pixels, got 0",
                "--backend", "qwen-image-edit", "--prompt", "x", "--image", EXAMPLE_IMAGE.toString(), "--edit-area", "0");
        expectError("--edit-area", "--backend", "qwen-image-edit", "--prompt", "x", "--image",
                EXAMPLE_IMAGE.toString(), "--edit-area", "lots");
        expectError("--image: the flux backend takes no condition image",
                "--backend", "flux", "--prompt", "x", "--image", EXAMPLE_IMAGE.toString());
        expectError("--edit-area applies to image editing", "--backend", "flux", "--prompt", "x", "--edit-area", "4096");
        expectError("--encode-first: the qwen-image-edit backend encodes each prompt together with its condition image",
                "--backend", "qwen-image-edit", "--prompt", "x", "--image", EXAMPLE_IMAGE.toString(), "--encode-first");

        Path prompts = Files.writeString(dir.resolve("p.tsv"), "Prompt\tImage\nfine\t" + EXAMPLE_IMAGE.toAbsolutePath()
                + "\nbroken\tnowhere.png\n");
        expectError("prompt file " + prompts + " line 3: cannot read the image " + dir.resolve("nowhere.png"),
                "--backend", "qwen-image-edit", "--prompt-file", prompts.toString());
        expectError("has images in an Image column, but the flux backend takes no condition image",
                "--backend", "flux", "--prompt-file", prompts.toString());
        expectError("either with --image or in the prompt file's Image column, not both",
                "--backend", "qwen-image-edit", "--prompt-file", prompts.toString(), "--image", EXAMPLE_IMAGE.toString());
        Path gap = Files.writeString(dir.resolve("gap.tsv"), "Prompt\tImage\nfine\t" + EXAMPLE_IMAGE.toAbsolutePath()
                + "\nno image here\t\n");
        expectError("prompt file " + gap + " line 3: this prompt has no condition image (its Image cell is empty)",
                "--backend", "qwen-image-edit", "--prompt-file", gap.toString());
        Path good = Files.writeString(dir.resolve("good.tsv"), "Prompt\tImage\nfine\t" + EXAMPLE_IMAGE.toAbsolutePath()
                + "\n");
        expectError("--prompt 'and one more': this prompt has no condition image (only the prompt file's rows name "
                + "images)", "--backend", "qwen-image-edit", "--prompt-file", good.toString(), "--prompt", "and one more");
    }

    @Test
    void toolsWithoutImagesRefuseTheEditBackend() {
        CliRun encode = CliRun.of("encode-prompts", "--backend", "qwen-image-edit", "--prompt", "x", "--output",
                dir.resolve("e.safetensors").toString());
        assertEquals(2, encode.exitCode(), encode.err());
        assertTrue(encode.err().contains("the qwen-image-edit backend edits images"), encode.err());
        assertFalse(Files.exists(dir.resolve("e.safetensors")));
    }
}
