package io.hicache.cli.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.core.image.PngWriter;
import io.hicache.core.image.RgbImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** Sizes follow the layout documented on {@link ImageGrid}, worked by hand for fontSize 12. */
class ImageGridTest {
    // fontSize 12: pad = max(4, 12/2) = 6, line = round(1.4·12) = 17
    private static final int PAD = 6;
    private static final int LINE = 17;
    private static final RgbImage A = random(40, 30, 1);
    private static final RgbImage B = random(50, 30, 2);
    private static final RgbImage C = random(40, 20, 3);

    static RgbImage random(int w, int h, long seed) {
        byte[] b = new byte[3 * w * h];
        new java.util.Random(seed).nextBytes(b);
        return RgbImage.of(w, h, b);
    }

    private static ImageGrid grid() {
        return ImageGrid.withColumns(List.of("original", "HiCache N=7", "Taylor"))
                .fontSize(12)
                .labelWidth(100)
                .row("a red fox in the snow, seed 0", List.of(A, B, C))
                .row("一只狐狸 🦊, seed 1", Arrays.asList(C, null, A));
    }

    @Test
    void sizeAndCellPlacementFollowTheDocumentedLayout() {
        for (ImageGrid g : List.of(grid(), grid().font(LabelFont.bitmap(12)))) {
            RgbImage img = g.render();
            // columns 40, 50, 40 wide; rows 30 and 30 tall (their tallest images)
            assertEquals(PAD + 100 + PAD + (40 + PAD) + (50 + PAD) + (40 + PAD), img.width());
            assertEquals(LINE + 2 * PAD + (30 + PAD) + (30 + PAD), img.height());
            int left = PAD + 100 + PAD;
            int top = LINE + 2 * PAD;
            assertCellIs(A, img, left, top);
            assertCellIs(B, img, left + 40 + PAD, top);
            assertCellIs(C, img, left + 40 + PAD + 50 + PAD, top);
            assertCellIs(C, img, left, top + 30 + PAD);
            assertCellIs(A, img, left + 40 + PAD + 50 + PAD, top + 30 + PAD);
            // the missing cell is grey at its corners (its "missing" label sits in the middle)
            assertEquals(0xD0D0D0, img.rgb(left + 40 + PAD, top + 30 + PAD));
            assertEquals(0xD0D0D0, img.rgb(left + 40 + PAD + 49, top + 30 + PAD + 29));
            // labels drew something in the header band and in the label column
            assertTrue(inkIn(img, left, 0, img.width(), top), "column labels");
            assertTrue(inkIn(img, 0, top, left, top + 30), "first row label");
            assertTrue(inkIn(img, 0, top + 30 + PAD, left, img.height()), "second row label");
        }
    }

    /** Captions (caption font 10: line 14, 4 lines) add a band under the images of their row only. */
    @Test
    void captionsAreWrittenUnderTheirImagesInABandOfFixedHeight() {
        int band = 4 * 14;
        String prompt = "a large red star in the top left corner on a blue background";
        for (boolean bitmap : new boolean[] {false, true}) {
            ImageGrid g = ImageGrid.withColumns(List.of("original", "HiCache N=7", "Taylor")).fontSize(12).labelWidth(100)
                    .row("seed 0", List.of(A, B, C), List.of(prompt, prompt, prompt))
                    .row("seed 1", Arrays.asList(C, null, A));
            RgbImage img = (bitmap ? g.font(LabelFont.bitmap(12)) : g).render();
            assertEquals(PAD + 100 + PAD + (40 + PAD) + (50 + PAD) + (40 + PAD), img.width());
            assertEquals(LINE + 2 * PAD + (30 + band + PAD) + (30 + PAD), img.height());
            int left = PAD + 100 + PAD;
            int top = LINE + 2 * PAD;
            int[] x = {left, left + 40 + PAD, left + 40 + PAD + 50 + PAD};
            assertCellIs(A, img, x[0], top);
            assertCellIs(B, img, x[1], top);
            assertCellIs(C, img, x[2], top);
            int second = top + 30 + band + PAD;
            assertCellIs(C, img, x[0], second);
            assertCellIs(A, img, x[2], second);
            int[] widths = {40, 50, 40};
            for (int c = 0; c < 3; c++) {
                // the caption is under its own image, and wrapped to fill more than one line of the band
                assertTrue(inkIn(img, x[c], top + 30, x[c] + widths[c], top + 30 + 14), "caption line 1 of " + c);
                assertTrue(inkIn(img, x[c], top + 30 + 14, x[c] + widths[c], top + 30 + band), "caption line 2+ of " + c);
            }
            assertEquals(false, inkIn(img, left, top + 30 + band, img.width(), second), "nothing between the rows");
        }
        RgbImage plain = ImageGrid.withColumns(List.of("x")).fontSize(12).row("", List.of(A), Arrays.asList(" "))
                .render();
        assertEquals(LINE + 2 * PAD + 30 + PAD, plain.height(), "blank captions take no band");
    }

    @Test
    void withoutRowLabelsThereIsNoLabelColumn() {
        RgbImage img = ImageGrid.withColumns(List.of("x")).fontSize(12).row("", List.of(A)).row(null, List.of(A)).render();
        assertEquals(PAD + 40 + PAD, img.width());
        assertEquals(LINE + 2 * PAD + 2 * (30 + PAD), img.height());
        assertCellIs(A, img, PAD, LINE + 2 * PAD);
    }

    @Test
    void shrinkPlacesBlockAveragedThumbnails() {
        RgbImage img = ImageGrid.withColumns(List.of("a", "b")).fontSize(12).shrink(2).row("", List.of(A, C)).render();
        assertEquals(PAD + (20 + PAD) + (20 + PAD), img.width());
        assertEquals(LINE + 2 * PAD + 15 + PAD, img.height());
        assertCellIs(A.downsample(2), img, PAD, LINE + 2 * PAD);
        assertCellIs(C.downsample(2), img, PAD + 20 + PAD, LINE + 2 * PAD);
    }

    @Test
    void encodesToAPngImageIoReads() throws IOException {
        RgbImage img = grid().render();
        assertEquals(img, RgbImage.fromBufferedImage(ImageIO.read(new ByteArrayInputStream(PngWriter.encode(img, java.util.Map.of())))));
    }

    @Test
    void rejectsMalformedGrids() {
        assertThrows(IllegalArgumentException.class, () -> ImageGrid.withColumns(List.of()));
        assertThrows(IllegalArgumentException.class, () -> ImageGrid.withColumns(List.of("a", "b")).row("r", List.of(A)));
        assertThrows(IllegalArgumentException.class, () -> ImageGrid.withColumns(List.of("a")).render());
        assertThrows(IllegalArgumentException.class, () -> ImageGrid.withColumns(List.of("a")).row("r", Arrays.asList((RgbImage) null)).render());
        assertThrows(IllegalArgumentException.class, () -> ImageGrid.withColumns(List.of("a")).shrink(0));
        assertThrows(IllegalArgumentException.class, () -> ImageGrid.withColumns(List.of("a", "b"))
                .row("r", List.of(A, B), List.of("one caption")));
        assertThrows(IllegalArgumentException.class, () -> ImageGrid.withColumns(List.of("a")).captionLines(0));
    }

    private static void assertCellIs(RgbImage expected, RgbImage grid, int left, int top) {
        for (int y = 0; y < expected.height(); y++) {
            for (int x = 0; x < expected.width(); x++) {
                assertEquals(expected.rgb(x, y), grid.rgb(left + x, top + y), "pixel (" + x + ", " + y + ")");
            }
        }
    }

    private static boolean inkIn(RgbImage img, int x0, int y0, int x1, int y1) {
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
