package io.hicache.cli.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.core.image.PngWriter;
import io.hicache.core.image.RgbImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class LinePlotTest {
    private static final int BLUE = 0x4E79A7; // first palette colour
    private static final int ORANGE = 0xF28E2B; // second

    private static LinePlot errors() {
        double[] steps = new double[50];
        double[] hicache = new double[50];
        double[] taylor = new double[50];
        for (int i = 0; i < 50; i++) {
            steps[i] = i;
            hicache[i] = 0.3 * Math.exp(-i / 10.0);
            taylor[i] = i % 7 == 0 ? 0 : 0.01 * (i % 7); // zeros at full steps: not drawable on a log axis
        }
        taylor[10] = Double.NaN;
        return LinePlot.create().title("relative L2 error").xLabel("step").yLabel("error").logY(true)
                .series("HiCache", steps, hicache).series("Taylor", steps, taylor);
    }

    @Test
    void imageHasExactlyTheRequestedSizeWithEitherFont() throws IOException {
        Map<LinePlot, int[]> plots = Map.of(
                errors(), new int[] {960, 600},
                errors().font(LabelFont.bitmap(14)), new int[] {960, 600},
                errors().size(400, 300), new int[] {400, 300},
                errors().size(333, 222).font(LabelFont.bitmap(14)).logY(false), new int[] {333, 222});
        for (Map.Entry<LinePlot, int[]> e : plots.entrySet()) {
            RgbImage img = e.getKey().render();
            assertEquals(e.getValue()[0], img.width());
            assertEquals(e.getValue()[1], img.height());
            byte[] png = PngWriter.encode(img, Map.of("Title", "relative L2 error"));
            assertEquals(img, RgbImage.fromBufferedImage(ImageIO.read(new ByteArrayInputStream(png))));
        }
    }

    @Test
    void seriesAreDrawnInTheirColoursAtTheirPlaces() {
        // single markers at (0, 0) and (10, 10); a third series spans the axes to −10..20 along the
        // other diagonal, so both markers lie well inside the plot and away from the legend (top right)
        RgbImage img = LinePlot.create()
                .series("low", new double[] {0}, new double[] {0})
                .series("high", new double[] {10}, new double[] {10})
                .series("range", new double[] {-10, 20}, new double[] {20, -10})
                .render();
        double[] low = centroid(img, BLUE, 800);
        double[] high = centroid(img, ORANGE, 800);
        assertTrue(low[0] < high[0] && low[1] > high[1], "(0,0) lies left of and below (10,10)");
        assertTrue(low[0] < 480 && high[0] > 480, "x: one third and two thirds across");
        assertTrue(high[1] < 300 && low[1] > 300, "y: two thirds and one third up");
    }

    @Test
    void plotsWithNothingDrawableStillRender() {
        RgbImage empty = LinePlot.create().size(300, 200).render();
        assertEquals(300, empty.width());
        RgbImage unusable = LinePlot.create().logY(true).size(300, 200)
                .series("none", new double[] {0, 1, Double.NaN}, new double[] {0, -1, 1}).render();
        assertEquals(200, unusable.height());
    }

    @Test
    void linearTicksAreNiceMultiples() {
        assertTicks(LinePlot.Axis.linear(0, 0.3), 0, 0.3, 0.05);
        assertTicks(LinePlot.Axis.linear(0, 49), 0, 50, 10);
        assertTicks(LinePlot.Axis.linear(0.7, 1.3), 0.7, 1.3, 0.1);
        assertTicks(LinePlot.Axis.linear(5, 5), 4, 6, 0.5); // one value: widened by one unit each side
        assertTicks(LinePlot.Axis.linear(-3e-4, 2e-4), -3e-4, 2e-4, 1e-4);
        LinePlot.Axis a = LinePlot.Axis.linear(-1, 1);
        assertEquals(List.of("-1.0", "-0.5", "0.0", "0.5", "1.0"), labels(a));
        assertEquals(List.of("0", "10", "20", "30", "40", "50"), labels(LinePlot.Axis.linear(0, 49)));
    }

    @Test
    void logTicksAreDecades() {
        LinePlot.Axis a = LinePlot.Axis.log(2e-4, 0.3);
        assertEquals(1e-4, a.min, 1e-19);
        assertEquals(1, a.max, 1e-15);
        assertEquals(List.of("1e-4", "0.001", "0.01", "0.1", "1"), labels(a));
        assertEquals(List.of("1", "10"), labels(LinePlot.Axis.log(5, 5)));
        // 18 decades: every third labelled
        assertEquals(List.of("1e-12", "1e-9", "1e-6", "0.001", "1", "1000", "1e6"), labels(LinePlot.Axis.log(1e-12, 1e6)));
    }

    @Test
    void rejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> LinePlot.create().series("s", new double[2], new double[3]));
        assertThrows(IllegalArgumentException.class, () -> LinePlot.create().size(100, 100));
    }

    private static void assertTicks(LinePlot.Axis a, double min, double max, double step) {
        assertEquals(min, a.min, 1e-12 * Math.max(1, Math.abs(step)));
        assertEquals(max, a.max, 1e-12 * Math.max(1, Math.abs(step)));
        int n = (int) Math.round((max - min) / step) + 1;
        assertEquals(n, a.ticks.size(), "tick count");
        for (int i = 0; i < n; i++) {
            assertEquals(min + i * step, a.ticks.get(i), step * 1e-9, "tick " + i);
        }
    }

    private static List<String> labels(LinePlot.Axis a) {
        List<String> out = new ArrayList<>();
        for (double t : a.ticks) {
            out.add(a.label(t));
        }
        return out;
    }

    /** Mean position of the pixels of exactly this colour left of column {@code toX} (the legend is right of it). */
    private static double[] centroid(RgbImage img, int rgb, int toX) {
        double sx = 0;
        double sy = 0;
        int n = 0;
        for (int y = 0; y < img.height(); y++) {
            for (int x = 0; x < toX; x++) {
                if (img.rgb(x, y) == rgb) {
                    sx += x;
                    sy += y;
                    n++;
                }
            }
        }
        assertTrue(n > 5, "colour " + Integer.toHexString(rgb) + " drawn");
        return new double[] {sx / n, sy / n};
    }
}
