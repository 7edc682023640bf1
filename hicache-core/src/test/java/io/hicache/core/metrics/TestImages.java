package io.hicache.core.metrics;

import io.hicache.core.image.RgbImage;
import java.util.Random;

/**
 * Images for metric tests. The integer-formula images are also built, with the same formulas, by
 * the Python snippet in {@link SsimTest} that produced the scikit-image reference values.
 */
final class TestImages {
    static final int WIDTH = 37;
    static final int HEIGHT = 29;

    private TestImages() {}

    /** A: R = (3x² + 7y + xy) mod 256, G = (13x + 5y² + 17) mod 256, B = (11xy + 5x + 3y) mod 256. */
    static RgbImage patternA() {
        byte[] rgb = new byte[3 * WIDTH * HEIGHT];
        for (int y = 0; y < HEIGHT; y++) {
            for (int x = 0; x < WIDTH; x++) {
                int[] a = pixelA(x, y);
                for (int c = 0; c < 3; c++) {
                    rgb[3 * (y * WIDTH + x) + c] = (byte) a[c];
                }
            }
        }
        return RgbImage.of(WIDTH, HEIGHT, rgb);
    }

    /** B: A plus ((31x + 17y + 7c) mod 41) − 20 per channel c, clipped to 0..255 (mild noise). */
    static RgbImage patternB() {
        byte[] rgb = new byte[3 * WIDTH * HEIGHT];
        for (int y = 0; y < HEIGHT; y++) {
            for (int x = 0; x < WIDTH; x++) {
                int[] a = pixelA(x, y);
                for (int c = 0; c < 3; c++) {
                    int v = a[c] + (31 * x + 17 * y + 7 * c) % 41 - 20;
                    rgb[3 * (y * WIDTH + x) + c] = (byte) Math.min(255, Math.max(0, v));
                }
            }
        }
        return RgbImage.of(WIDTH, HEIGHT, rgb);
    }

    /** C: (3·A + xy + 50c) mod 256 per channel c (nearly unrelated to A). */
    static RgbImage patternC() {
        byte[] rgb = new byte[3 * WIDTH * HEIGHT];
        for (int y = 0; y < HEIGHT; y++) {
            for (int x = 0; x < WIDTH; x++) {
                int[] a = pixelA(x, y);
                for (int c = 0; c < 3; c++) {
                    rgb[3 * (y * WIDTH + x) + c] = (byte) ((3 * a[c] + x * y + 50 * c) % 256);
                }
            }
        }
        return RgbImage.of(WIDTH, HEIGHT, rgb);
    }

    private static int[] pixelA(int x, int y) {
        return new int[] {(3 * x * x + 7 * y + x * y) % 256, (13 * x + 5 * y * y + 17) % 256, (11 * x * y + 5 * x + 3 * y) % 256};
    }

    static RgbImage random(int width, int height, long seed) {
        byte[] rgb = new byte[3 * width * height];
        new Random(seed).nextBytes(rgb);
        return RgbImage.of(width, height, rgb);
    }

    /** A random image blurred by averaging with its right and lower neighbours, plus noise: image-like. */
    static RgbImage smoothNoisy(RgbImage base, int noise, long seed) {
        Random r = new Random(seed);
        int w = base.width();
        int h = base.height();
        byte[] rgb = new byte[3 * w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) {
                    int s = base.sample(x, y, c) + base.sample(Math.min(x + 1, w - 1), y, c)
                            + base.sample(x, Math.min(y + 1, h - 1), c);
                    int v = s / 3 + (noise == 0 ? 0 : r.nextInt(2 * noise + 1) - noise);
                    rgb[3 * (y * w + x) + c] = (byte) Math.min(255, Math.max(0, v));
                }
            }
        }
        return RgbImage.of(w, h, rgb);
    }
}
