package io.hicache.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.core.image.Resampling.Filter;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ResamplingTest {
    /** A one-row image whose pixels are grey levels {@code values} (R = G = B). */
    private static RgbImage greyRow(int... values) {
        byte[] rgb = new byte[3 * values.length];
        for (int i = 0; i < values.length; i++) {
            rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = (byte) values[i];
        }
        return RgbImage.of(values.length, 1, rgb);
    }

    private static int[] greyLevels(RgbImage image) {
        int[] out = new int[image.width() * image.height()];
        for (int y = 0; y < image.height(); y++) {
            for (int x = 0; x < image.width(); x++) {
                assertEquals(image.sample(x, y, 0), image.sample(x, y, 1));
                assertEquals(image.sample(x, y, 0), image.sample(x, y, 2));
                out[y * image.width() + x] = image.sample(x, y, 0);
            }
        }
        return out;
    }

    @Test
    void bicubicShrinkFourToTwoWorkedByHand() {
        // scale = 4/2 = 2, so the kernel is stretched: support 2·2 = 4, argument (x − center + 0.5)/2.
        // Output 0: center 1.0, inputs [(int)(1−4+0.5) → 0, (int)(1+4+0.5)=5 → 4) = x 0..3,
        //   arguments −0.25, 0.25, 0.75, 1.25.
        //   cubic(0.25) = (1.5·0.25 − 2.5)·0.25² + 1 = 0.8671875 = 111/128
        //   cubic(0.75) = (1.5·0.75 − 2.5)·0.75² + 1 = 0.2265625 = 29/128
        //   cubic(1.25) = (((1.25−5)·1.25 + 8)·1.25 − 4)·(−0.5) = −0.0703125 = −9/128
        //   sum 242/128, so the weights are 111/242, 111/242, 29/242, −9/242;
        //   × 2^22, rounded half away from zero: 1923834, 1923834, 502623, −155987 (sum 2^22).
        //   (2^21 + 10·1923834 + 50·1923834 + 200·502623 + 255·(−155987)) >> 22
        //   = 178275107 >> 22 = 42   (exactly 42.004)
        // Output 1: center 3.0, the same weights mirrored: 901012902 >> 22 = 214   (exactly 214.318)
        RgbImage out = Resampling.resize(greyRow(10, 50, 200, 255), 2, 1, Filter.BICUBIC);
        assertArrayEquals(new int[] {42, 214}, greyLevels(out));
    }

    @Test
    void bicubicEnlargeTwoToThreeWorkedByHand() {
        // scale = 2/3 < 1, so no stretching: support 2, argument x − center + 0.5.
        // Output 0: center 1/3, inputs 0..1, arguments 1/6 and 7/6:
        //   cubic(1/6) = (1.5/6 − 2.5)/36 + 1 = 0.9375, cubic(7/6) = −25/432;
        //   normalised 405/380 = 1.0657894…, −25/380 = −0.0657894…  → fixed 4470245, −275941.
        //   [200, 10]: 2^21 + 200·4470245 − 10·275941 = 893386742 >> 22 = 212. The exact value is
        //   212.5: the fixed-point weights (rounded to 2^−22) land just below the half, so the
        //   result is 212, where a float computation rounding half up would give 213.
        // Output 1: center 1.0, arguments ∓0.5, cubic(0.5) = 0.5625 twice → ½, ½ → 2^21 each:
        //   (2^21 + 2^21·210) >> 22 = 105.
        // Output 2: center 5/3, the weights of output 0 mirrored: 2^21 − 200·275941 + 10·4470245
        //   = −8388598, >> 22 = −2, clipped to 0 (the overshoot of the cubic kernel).
        RgbImage out = Resampling.resize(greyRow(200, 10), 3, 1, Filter.BICUBIC);
        assertArrayEquals(new int[] {212, 105, 0}, greyLevels(out));
        // [10, 51]: output 1 is (2^21 + 2^21·61) >> 22 = 31, i.e. 30.5 rounded half up.
        assertEquals(31, greyLevels(Resampling.resize(greyRow(10, 51), 3, 1, Filter.BICUBIC))[1]);
    }

    @Test
    void verticalPassIsTheHorizontalPassTransposed() {
        RgbImage row = greyRow(10, 50, 200, 255, 3, 99, 180);
        RgbImage column = RgbImage.of(1, 7, row.toByteArray());
        for (Filter f : Filter.values()) {
            for (int n : new int[] {2, 3, 5, 11}) {
                assertArrayEquals(greyLevels(Resampling.resize(row, n, 1, f)),
                        greyLevels(Resampling.resize(column, 1, n, f)), f + " to " + n);
            }
        }
    }

    @Test
    void sameSizeIsTheIdentity() {
        byte[] bytes = new byte[3 * 5 * 4];
        new Random(3).nextBytes(bytes);
        RgbImage img = RgbImage.of(5, 4, bytes);
        assertSame(img, Resampling.resize(img, 5, 4, Filter.LANCZOS));
        assertSame(img, Resampling.resize(img, 5, 4, Filter.BICUBIC));
    }

    @Test
    void constantImagesStayConstant() {
        // The fixed-point weights of each output sum to 2^22 within a few units, and
        // c·(2^22 ± few) + 2^21 >> 22 = c for every c in 0..255.
        RgbImage flat = RgbImage.filled(7, 5, 13, 200, 255);
        for (Filter f : Filter.values()) {
            for (int[] size : new int[][] {{3, 11}, {14, 2}, {1, 1}, {7, 9}, {2, 5}}) {
                assertEquals(RgbImage.filled(size[0], size[1], 13, 200, 255),
                        Resampling.resize(flat, size[0], size[1], f), f + " " + size[0] + "x" + size[1]);
            }
        }
        // Pillow's own consistency case (Tests/test_image_resample.py, TestCoreResampleConsistency):
        // 512x9 of (0, 64, 255) to 9x512 with LANCZOS.
        assertEquals(RgbImage.filled(9, 512, 0, 64, 255),
                Resampling.resize(RgbImage.filled(512, 9, 0, 64, 255), 9, 512, Filter.LANCZOS));
    }

    /**
     * Pillow's accuracy cases (Tests/test_image_resample.py, TestImagingCoreResampleAccuracy): a
     * 2×2 checkerboard of 0xE1 (top-left and bottom-right quarters) and 0x1E, resized; the expected
     * top-left quarter is given, the other quarters follow by symmetry (mirrored, or 255 − value).
     */
    private static void checkPillowCase(int size, int newSize, Filter filter, String topLeftQuarter) {
        byte[] rgb = new byte[3 * size * size];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                boolean dark = (x < size / 2) == (y < size / 2);
                int v = dark ? 0xE1 : 0xFF - 0xE1;
                int o = 3 * (y * size + x);
                rgb[o] = rgb[o + 1] = rgb[o + 2] = (byte) v;
            }
        }
        String[] hex = topLeftQuarter.trim().split("\\s+");
        int h = newSize / 2;
        assertEquals(h * h, hex.length);
        int[] expected = new int[newSize * newSize];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < h; x++) {
                int v = Integer.parseInt(hex[y * h + x], 16);
                expected[y * newSize + x] = v;
                expected[(newSize - y - 1) * newSize + newSize - x - 1] = v;
                expected[(newSize - y - 1) * newSize + x] = 255 - v;
                expected[y * newSize + newSize - x - 1] = 255 - v;
            }
        }
        RgbImage out = Resampling.resize(RgbImage.of(size, size, rgb), newSize, newSize, filter);
        assertArrayEquals(expected, greyLevels(out), filter + " " + size + " -> " + newSize);
    }

    @Test
    void matchesPillowsAccuracyCases() {
        checkPillowCase(12, 6, Filter.BICUBIC, "e1 e3 d4  e3 e5 d6  d4 d6 c9");
        checkPillowCase(16, 8, Filter.LANCZOS, "e1 e0 e4 d7  e0 df e3 d6  e4 e3 e7 da  d7 d6 d9 ce");
        checkPillowCase(4, 8, Filter.BICUBIC, "e1 e5 ee b9  e5 e9 f3 bc  ee f3 fd c1  b9 bc c1 a2");
        checkPillowCase(6, 12, Filter.LANCZOS, "e1 e0 db ed f5 b8  e0 df da ec f3 b7  db db d6 e7 ee b5"
                + "  ed ec e6 fb ff bf  f5 f4 ee ff ff c4  b8 b7 b4 bf c4 a0");
    }

    /**
     * A deterministic test pattern with fine detail, {@code (3x² + 5y² + 7xy + 50c + 11(x XOR y)) mod 256},
     * the same formula the reference hashes were computed from.
     */
    private static RgbImage pattern(int w, int h) {
        byte[] b = new byte[3 * w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) {
                    b[3 * (y * w + x) + c] = (byte) (x * x * 3 + y * y * 5 + x * y * 7 + c * 50 + (x ^ y) * 11);
                }
            }
        }
        return RgbImage.of(w, h, b);
    }

    @Test
    void matchesPillowOnEditSizedImages() throws Exception {
        // SHA-256 of the RGB bytes Pillow 9.4.0 returns for pattern(w, h).resize((W, H), filter),
        // including the sizes of the edit pipeline (4:3 input to its 1184x896 condition image, that
        // to the vision processor's 1176x896, 1024² to 1036²).
        String[][] cases = {
            {"37", "23", "11", "7", "LANCZOS", "ff0205e870a2465946615b26a692185d0288c99ecf6b05be71e6eea8195f76f3"},
            {"37", "23", "64", "50", "BICUBIC", "7a57fd3c87fb6ce8156baf7087fffb9f66dfa9b9726ac752e1020d6f661414fa"},
            {"640", "480", "1184", "896", "LANCZOS", "c472adb537444f975329d403a833b6452ebbf0b4490b18aee215b4ffe912d24e"},
            {"1184", "896", "1176", "896", "BICUBIC", "6a7f198cdf7d53387c012ec969cf9e8a5143627d140ff0759e85c4986f233a51"},
            {"333", "517", "1024", "1024", "LANCZOS", "60f256280a06d860ede1853b69e3bccd2b83c57bfd4f2e5d5567ad107cb7e712"},
            {"1024", "1024", "1036", "1036", "BICUBIC", "10b82c7c9c96caddb405fcd7a438c4621524775589091353a481562f16530502"},
        };
        for (String[] c : cases) {
            RgbImage out = Resampling.resize(pattern(Integer.parseInt(c[0]), Integer.parseInt(c[1])),
                    Integer.parseInt(c[2]), Integer.parseInt(c[3]), Filter.valueOf(c[4]));
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(out.toByteArray());
            assertEquals(c[5], HexFormat.of().formatHex(digest), String.join(" ", c));
        }
    }

    /** Lanczos-3 written out again: sinc(x)·sinc(x/3) on [−3, 3). */
    private static double lanczos(double x) {
        if (x < -3 || x >= 3) {
            return 0;
        }
        double s1 = x == 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        double s3 = x == 0 ? 1 : Math.sin(Math.PI * x / 3) / (Math.PI * x / 3);
        return s1 * s3;
    }

    /** Exact (float64) normalised weights of output {@code i} of a shrink from {@code in} to {@code out}. */
    private static double[] shrinkWeights(int in, int out, int i) {
        double scale = (double) in / out; // > 1 in this test: the kernel is stretched by it
        double center = (i + 0.5) * scale;
        double[] w = new double[in];
        double sum = 0;
        for (int x = 0; x < in; x++) {
            // pixel x covers [x, x+1); its center x + 0.5 lies (x + 0.5 − center)/scale kernel units away
            w[x] = lanczos((x + 0.5 - center) / scale);
            sum += w[x];
        }
        for (int x = 0; x < in; x++) {
            w[x] /= sum;
        }
        return w;
    }

    @Test
    void oneLanczosShrinkPixelRederivedInFloat64() {
        // 9x7 → 4x3: every output reads all inputs (support 3·2.25 = 6.75 columns, 3·7/3 = 7 rows),
        // so the reference can sum over the whole image.
        int w = 9;
        int h = 7;
        byte[] bytes = new byte[3 * w * h];
        new Random(11).nextBytes(bytes);
        RgbImage img = RgbImage.of(w, h, bytes);
        RgbImage out = Resampling.resize(img, 4, 3, Filter.LANCZOS);
        int ox = 1;
        int oy = 1;
        double[] wx = shrinkWeights(w, 4, ox);
        double[] wy = shrinkWeights(h, 3, oy);
        for (int c = 0; c < 3; c++) {
            double vertical = 0;
            for (int y = 0; y < h; y++) {
                double horizontal = 0;
                for (int x = 0; x < w; x++) {
                    horizontal += wx[x] * img.sample(x, y, c);
                }
                // Pillow stores the horizontal pass as 8-bit (round half up, clip) before the vertical one.
                assertFarFromHalf(horizontal);
                vertical += wy[y] * Math.min(255, Math.max(0, Math.floor(horizontal + 0.5)));
            }
            assertFarFromHalf(vertical);
            int expected = (int) Math.min(255, Math.max(0, Math.floor(vertical + 0.5)));
            assertEquals(expected, out.sample(ox, oy, c), "channel " + c);
        }
    }

    /**
     * The fixed-point weights differ from the exact ones by at most 2^−23 each, so a sum over at most
     * 9 pixels differs by under 9·255·2^−23 ≈ 0.0003: rounding agrees whenever the exact value is
     * further than that from a half.
     */
    private static void assertFarFromHalf(double v) {
        double frac = v - Math.floor(v);
        assertTrue(Math.abs(frac - 0.5) > 0.001, "value " + v + " too close to a rounding boundary for this check");
    }

    @Test
    void rejectsEmptySizes() {
        RgbImage img = RgbImage.filled(2, 2, 0, 0, 0);
        assertThrows(IllegalArgumentException.class, () -> Resampling.resize(img, 0, 2, Filter.BICUBIC));
        assertThrows(IllegalArgumentException.class, () -> Resampling.resize(img, 2, -1, Filter.LANCZOS));
    }
}
