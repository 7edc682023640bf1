package io.hicache.cli;

import io.hicache.core.testing.IsolatedHicacheHome;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.image.PngReader;
import io.hicache.core.image.RgbImage;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.shapes.Faithfulness;
import io.hicache.core.shapes.ShapeAttribute;
import io.hicache.core.shapes.ShapePrompt;
import io.hicache.core.shapes.ShapesGenerator;
import io.hicache.flux.FluxConfig;
import io.hicache.flux.SyntheticFluxModels;
import io.hicache.flux.TinyFlux;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(IsolatedHicacheHome.class)
class BenchCommandTest {
    @TempDir
    Path dir;

    @Test
    void benchmarksTheTinyModelAndWritesTableJsonGridAndPlot() throws Exception {
        Path out = dir.resolve("bench");
        CliRun r = CliRun.of("bench", "--device", "cpu", "--prompt", "a fox", "--prompt", "a cat", "--steps", "8",
                "--width", "64", "--height", "64", "--modes", "original,FORA,HiCache", "--intervals", "3,4",
                "--warmup", "0", "--gemm", "64x64", "--output-dir", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("machine GEMM"), r.out());

        JsonNode report = new ObjectMapper().readTree(out.resolve("bench.json").toFile());
        JsonNode results = report.get("results");
        assertEquals(5, results.size(), "original + 2 modes × 2 intervals");
        assertEquals("original", results.get(0).get("tag").asText());
        assertEquals(1.0, results.get(0).get("wallSpeedup").asDouble(), 0);
        assertEquals(1.0, results.get(0).get("ssim").asDouble(), 1e-12);
        // the original against itself: infinite PSNR, which JSON cannot hold, is null (not "Infinity")
        assertTrue(results.get(0).get("psnr").isNull(), results.get(0).toString());
        assertTrue(results.get(0).get("samples").get(0).get("psnr").isNull(), results.get(0).toString());
        String text = java.nio.file.Files.readString(out.resolve("bench.json"));
        assertFalse(text.contains("Infinity") || text.contains("NaN"), text);
        for (int i = 1; i < 5; i++) {
            JsonNode c = results.get(i);
            int full = c.get("fullSteps").asInt();
            assertEquals(8.0 / full, c.get("flopsSpeedup").asDouble(), 0.05, c.get("tag").asText());
            assertTrue(c.get("ssim").asDouble() <= 1.0);
            assertTrue(c.get("psnr").isNumber(), c.toString());
            assertTrue(c.get("forecastErrorByModule").size() == 5, c.toString());
        }
        RgbImage grid = PngReader.readImage(out.resolve("grid.png"));
        assertTrue(grid.width() > 5 * 64 && grid.height() > 2 * 64, grid.width() + "x" + grid.height());
        assertTrue(PngReader.readImage(out.resolve("error_vs_step.png")).width() > 0);
        assertTrue(java.nio.file.Files.readString(out.resolve("bench.txt")).contains("HiCache_i4_o2_fe3_s0.5"));

        // prompts outside the Shapes grammar: no faithfulness anywhere, and one line saying why
        String why = "prompts do not follow the Shapes grammar (e.g. 'a fox')";
        assertEquals(why, report.get("faithfulnessUnscored").asText());
        for (JsonNode c : results) {
            assertTrue(c.get("faithfulness").isNull(), c.get("tag").asText());
        }
        assertEquals(1, r.out().split(java.util.regex.Pattern.quote("faithfulness: " + why), -1).length - 1, r.out());
        assertFalse(r.out().contains("faithfulness to the prompts"), r.out());
    }

    /**
     * Shapes prompts (full and partial) at the checker's 128²: every configuration, original too, gets
     * per-attribute, overall and all-correct fractions, equal to what {@link Faithfulness} makes of the
     * images bench wrote. Random weights draw noise, so the values themselves are low and arbitrary.
     */
    @Test
    void shapesPromptsGetFaithfulnessForEveryConfiguration() throws Exception {
        Path out = dir.resolve("bench");
        List<String> prompts = List.of("a large red star in the top left corner on a blue background",
                "a small green circle", "a yellow shape at the bottom on a black background");
        CliRun r = CliRun.of("bench", "--device", "cpu", "--prompt", prompts.get(0), "--prompt", prompts.get(1),
                "--prompt", prompts.get(2), "--limit", "3", "--steps", "4", "--width", "128", "--height", "128",
                "--modes", "original,FORA,HiCache", "--intervals", "2", "--warmup", "0", "--no-site-errors",
                "--gemm", "64x64", "--output-dir", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode report = new ObjectMapper().readTree(out.resolve("bench.json").toFile());
        assertTrue(report.get("faithfulnessUnscored").isNull(), report.toString());
        JsonNode results = report.get("results");
        assertEquals(3, results.size());
        String table = Files.readString(out.resolve("bench.txt"));
        assertTrue(table.contains("faithfulness to the prompts"), table);
        assertTrue(r.out().contains(table), "the table printed is the one written");
        for (JsonNode c : results) {
            String tag = c.get("tag").asText();
            Faithfulness f = new Faithfulness();
            for (int i = 0; i < prompts.size(); i++) {
                assertTrue(f.add(prompts.get(i), PngReader.readImage(out.resolve("images").resolve(tag).resolve(i + ".png"))));
            }
            Faithfulness.Score expected = f.score();
            JsonNode got = c.get("faithfulness");
            assertEquals(3, got.get("images").asInt(), tag);
            assertEquals(expected.overall().fraction(), got.get("overall").asDouble(), 1e-12, tag);
            assertEquals(expected.allCorrect().fraction(), got.get("allCorrect").asDouble(), 1e-12, tag);
            List<String> named = new ArrayList<>();
            got.get("perAttribute").fieldNames().forEachRemaining(named::add);
            assertEquals(List.of("size", "colour", "shape", "position", "background"), named, tag);
            for (ShapeAttribute a : ShapeAttribute.values()) {
                double fraction = expected.perAttribute().get(a).fraction();
                assertEquals(fraction, got.get("perAttribute").get(a.name().toLowerCase(Locale.ROOT)).asDouble(), 1e-12,
                        tag + " " + a);
            }
            // the table's row: tag, five attributes, overall, all correct, three decimals each
            String row = String.format(Locale.ROOT, "%-24s %10.3f %10.3f %10.3f %10.3f %10.3f %8.3f %11.3f", tag,
                    expected.perAttribute().get(ShapeAttribute.SIZE).fraction(),
                    expected.perAttribute().get(ShapeAttribute.COLOUR).fraction(),
                    expected.perAttribute().get(ShapeAttribute.SHAPE).fraction(),
                    expected.perAttribute().get(ShapeAttribute.POSITION).fraction(),
                    expected.perAttribute().get(ShapeAttribute.BACKGROUND).fraction(),
                    expected.overall().fraction(), expected.allCorrect().fraction());
            assertTrue(table.contains(row + "\n"), row + "\n" + table);
        }
        assertFalse(r.out().contains("faithfulness: "), r.out());
        // the images written are the ones PSNR compares: original's against itself is identical
        assertTrue(results.get(0).get("psnr").isNull());
    }

    /**
     * The grid shows each image's prompt under it: every cell has a caption band (4 lines of the 10 px
     * caption font, 14 px each) below the image, and ink in it.
     */
    @Test
    void gridShowsThePromptUnderEveryImage() throws Exception {
        Path out = dir.resolve("bench");
        CliRun r = CliRun.of("bench", "--device", "cpu", "--prompt", "a red star", "--prompt", "a blue circle",
                "--steps", "2", "--width", "32", "--height", "32", "--modes", "original,FORA", "--intervals", "2",
                "--warmup", "0", "--no-site-errors", "--gemm", "64x64", "--output-dir", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        RgbImage grid = PngReader.readImage(out.resolve("grid.png"));
        // fontSize 16: pad 8, header line 22; label column 96; caption band 56
        int pad = 8;
        int top = 22 + 2 * pad;
        int left = pad + 96 + pad;
        int band = 4 * 14;
        assertEquals(top + 2 * (32 + band + pad), grid.height());
        assertEquals(left + 2 * (32 + pad), grid.width());
        for (int row = 0; row < 2; row++) {
            int y = top + row * (32 + band + pad) + 32;
            for (int col = 0; col < 2; col++) {
                int x = left + col * (32 + pad);
                assertTrue(ink(grid, x, y, x + 32, y + band), "caption under row " + row + ", column " + col);
            }
        }
    }

    /** Bench takes the prompts of a file, one a line, the first --limit of them, prompt i with seed S + i. */
    @Test
    void promptFileWithLimitGivesOneSeedPerPrompt() throws Exception {
        Path file = dir.resolve("prompts.txt");
        List<String> lines = new ArrayList<>();
        ShapesGenerator generator = new ShapesGenerator(1);
        for (int i = 0; i < 70; i++) {
            lines.add(ShapePrompt.of(generator.next().attributes()).text());
        }
        Files.write(file, lines);
        Path out = dir.resolve("bench");
        CliRun r = CliRun.of("bench", "--device", "cpu", "--prompt-file", file.toString(), "--limit", "64",
                "--seed", "10", "--steps", "1", "--width", "32", "--height", "32", "--modes", "original", "--warmup",
                "0", "--no-site-errors", "--gemm", "64x64", "--output-dir", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode report = new ObjectMapper().readTree(out.resolve("bench.json").toFile());
        List<String> prompts = new ArrayList<>();
        report.get("prompts").forEach(p -> prompts.add(p.asText()));
        assertEquals(lines.subList(0, 64), prompts);
        JsonNode samples = report.get("results").get(0).get("samples");
        assertEquals(64, samples.size());
        for (int i = 0; i < 64; i++) {
            assertEquals(lines.get(i), samples.get(i).get("prompt").asText());
            assertEquals(10 + i, samples.get(i).get("seed").asLong());
            assertTrue(Files.isRegularFile(out.resolve("images/original/" + i + ".png")), "image " + i);
        }
        assertFalse(Files.exists(out.resolve("images/original/64.png")));
        assertEquals("the Shapes checker reads 128x128 images, these are 32x32", report.get("faithfulnessUnscored").asText());
    }

    /**
     * Without --steps/--width/--height/--guidance bench samples at the model's defaults, like
     * generation: a schnell-style model (no guidance embedding) runs its 4 steps without guidance.
     */
    @Test
    void samplingDefaultsComeFromTheModel() throws Exception {
        Path model = dir.resolve("schnell-tiny");
        SyntheticFluxModels.writeTiny(model, 5, TensorType.F32, false);
        FluxConfig t = SyntheticFluxModels.tinyTransformerConfig();
        FluxConfig schnell = new FluxConfig(t.inChannels(), t.outChannels(), t.numLayers(), t.numSingleLayers(),
                t.attentionHeadDim(), t.numAttentionHeads(), t.jointAttentionDim(), t.pooledProjectionDim(), false,
                t.axesDimsRope());
        TinyFlux.write(model, schnell, 5, TensorType.F32, false);
        Path out = dir.resolve("bench");
        CliRun r = CliRun.of("bench", "--device", "cpu", "--model-path", model.toString(), "--prompt", "a fox",
                "--width", "32", "--height", "32", "--modes", "original", "--warmup", "0", "--no-site-errors",
                "--gemm", "64x64", "--output-dir", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("sampling: 4 steps (the model's), 32x32 (given), guidance 0 (the model's)"), r.out());
        JsonNode report = new ObjectMapper().readTree(out.resolve("bench.json").toFile());
        assertEquals(4, report.get("steps").asInt());
        assertEquals(4, report.get("results").get(0).get("fullSteps").asInt());
        assertEquals(32, report.get("width").asInt());

        // flux-tiny is dev-style: 50 steps and guidance 3.5; an explicit option still wins
        CliRun tiny = CliRun.of("bench", "--device", "cpu", "--prompt", "a fox", "--width", "32", "--height", "32",
                "--guidance", "2", "--modes", "original", "--warmup", "0", "--no-site-errors", "--gemm", "64x64",
                "--output-dir", out.toString());
        assertEquals(0, tiny.exitCode(), tiny.err());
        assertTrue(tiny.out().contains("sampling: 50 steps (the model's), 32x32 (given), guidance 2 (given)"), tiny.out());
    }

    @Test
    void badOptionsExitTwo() {
        CliRun r = CliRun.of("bench", "--prompt", "x", "--modes", "ToCa", "--output-dir", dir.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("unknown cache mode 'ToCa'"), r.err());
        CliRun g = CliRun.of("bench", "--prompt", "x", "--gemm", "big", "--output-dir", dir.toString());
        assertEquals(2, g.exitCode());
        assertTrue(g.err().contains("--gemm"), g.err());
        CliRun w = CliRun.of("bench", "--prompt", "x", "--width", "100", "--output-dir", dir.toString());
        assertEquals(2, w.exitCode());
        assertEquals("hicache: --width must be a positive multiple of 16, got 100", w.err().strip());
    }

    private static boolean ink(RgbImage img, int x0, int y0, int x1, int y1) {
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                if (img.rgb(x, y) != 0xFFFFFF) {
                    return true;
                }
            }
        }
        return false;
    }
}
