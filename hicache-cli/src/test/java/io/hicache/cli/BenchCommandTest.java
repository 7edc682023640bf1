package io.hicache.cli;

import io.hicache.core.testing.IsolatedHicacheHome;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.image.PngReader;
import io.hicache.core.image.RgbImage;
import java.nio.file.Path;
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
    }

    @Test
    void badOptionsExitTwo() {
        CliRun r = CliRun.of("bench", "--prompt", "x", "--modes", "ToCa", "--output-dir", dir.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("unknown cache mode 'ToCa'"), r.err());
        CliRun g = CliRun.of("bench", "--prompt", "x", "--gemm", "big", "--output-dir", dir.toString());
        assertEquals(2, g.exitCode());
        assertTrue(g.err().contains("--gemm"), g.err());
    }
}
