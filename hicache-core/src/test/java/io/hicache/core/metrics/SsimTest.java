package io.hicache.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.core.image.RgbImage;
import org.junit.jupiter.api.Test;

class SsimTest {
    private static final double C1 = (0.01 * 255) * (0.01 * 255);

    /**
     * Reference values from scikit-image 0.19.3 / scipy 1.10.1 / numpy 1.24.2 (Debian bookworm), for
     * the {@link TestImages} patterns built with the same formulas in numpy:
     *
     * <pre>
     * w = np.array([0.2989, 0.5870, 0.1140]); gray = np.dot(img.astype(np.float64), w)
     * structural_similarity(ga, gb, gaussian_weights=True, sigma=1.5,
     *                       use_sample_covariance=False, data_range=255)
     * scipy.ndimage._filters._gaussian_kernel1d(1.5, 0, 5)
     * </pre>
     */
    private static final double SKIMAGE_SSIM_AB = 0.98630493738945646;
    private static final double SKIMAGE_SSIM_AC = 0.022960402760866808;
    private static final double[] SCIPY_KERNEL = {
        0.0010283800844791101, 0.0075987581352391859, 0.036000772128430815, 0.10936068950970002,
        0.21300553771125369, 0.26601172486179436, 0.21300553771125369, 0.10936068950970002,
        0.036000772128430815, 0.0075987581352391859, 0.0010283800844791101,
    };

    @Test
    void matchesScikitImageOnReferencePatterns() {
        assertEquals(SKIMAGE_SSIM_AB, Ssim.of(TestImages.patternA(), TestImages.patternB()), 1e-12);
        assertEquals(SKIMAGE_SSIM_AC, Ssim.of(TestImages.patternA(), TestImages.patternC()), 1e-12);
    }

    @Test
    void kernelIsScipysTruncatedGaussian() {
        double[] k = Ssim.kernel();
        assertEquals(SCIPY_KERNEL.length, k.length, "radius int(3.5*1.5+0.5) = 5 gives 11 taps");
        for (int i = 0; i < k.length; i++) {
            assertEquals(SCIPY_KERNEL[i], k[i], 1e-16, "tap " + i);
        }
    }

    @Test
    void identicalImagesScoreExactlyOne() {
        RgbImage a = TestImages.random(40, 33, 1);
        assertEquals(1.0, Ssim.of(a, a), 0.0);
    }

    /** Constant images: σ = 0 everywhere, so SSIM = (2μxμy + C1) / (μx² + μy² + C1). */
    @Test
    void constantImagesGiveTheLuminanceTerm() {
        RgbImage a = RgbImage.filled(20, 15, 100, 100, 100);
        RgbImage b = RgbImage.filled(20, 15, 110, 110, 110);
        double p = 0.2989 * 100 + 0.5870 * 100 + 0.1140 * 100; // the weights sum to 0.9999
        double q = 0.2989 * 110 + 0.5870 * 110 + 0.1140 * 110;
        assertEquals((2 * p * q + C1) / (p * p + q * q + C1), Ssim.of(a, b), 1e-13);
        // black against white: (0 + C1) / (254.97² + C1)
        double w = 0.9999 * 255;
        assertEquals(C1 / (w * w + C1), Ssim.of(RgbImage.filled(11, 11, 0, 0, 0), RgbImage.filled(11, 11, 255, 255, 255)), 1e-15);
    }

    @Test
    void isSymmetric() {
        RgbImage a = TestImages.random(31, 26, 2);
        RgbImage b = TestImages.smoothNoisy(a, 30, 3);
        assertEquals(Ssim.of(a, b), Ssim.of(b, a), 1e-15);
    }

    @Test
    void agreesWithDirectWindowSums() {
        RgbImage base = TestImages.random(23, 17, 4);
        RgbImage[][] pairs = {
            {TestImages.patternA(), TestImages.patternB()},
            {TestImages.patternA(), TestImages.patternC()},
            {base, TestImages.smoothNoisy(base, 0, 5)},
            {TestImages.smoothNoisy(base, 10, 6), TestImages.smoothNoisy(base, 40, 7)},
            {RgbImage.filled(23, 17, 90, 30, 200), base},
        };
        for (RgbImage[] pair : pairs) {
            double expected = naiveSsim(gray(pair[0]), gray(pair[1]), pair[0].width(), pair[0].height());
            assertEquals(expected, Ssim.of(pair[0], pair[1]), 1e-10);
        }
    }

    @Test
    void grayscaleUsesTheMatlabWeightsUnrounded() {
        double[] g = Ssim.grayscale(RgbImage.of(2, 1, new byte[] {10, 20, 30, (byte) 255, 0, 0}));
        assertEquals(2.989 + 11.74 + 3.42, g[0], 1e-12);
        assertEquals(76.2195, g[1], 1e-12);
    }

    @Test
    void worseCopiesScoreLower() {
        RgbImage a = TestImages.smoothNoisy(TestImages.random(64, 48, 8), 0, 9);
        double mild = Ssim.of(a, TestImages.smoothNoisy(a, 5, 10));
        double strong = Ssim.of(a, TestImages.smoothNoisy(a, 60, 11));
        assertTrue(1 > mild && mild > strong, mild + " vs " + strong);
    }

    @Test
    void rejectsImagesSmallerThanTheWindowOrOfDifferentSize() {
        assertThrows(IllegalArgumentException.class, () -> Ssim.of(RgbImage.filled(10, 40, 0, 0, 0), RgbImage.filled(10, 40, 0, 0, 0)));
        assertThrows(IllegalArgumentException.class, () -> Ssim.of(RgbImage.filled(40, 10, 0, 0, 0), RgbImage.filled(40, 10, 0, 0, 0)));
        assertThrows(IllegalArgumentException.class, () -> Ssim.of(RgbImage.filled(20, 20, 0, 0, 0), RgbImage.filled(20, 21, 0, 0, 0)));
    }

    private static double[] gray(RgbImage image) {
        double[] g = new double[image.width() * image.height()];
        for (int y = 0; y < image.height(); y++) {
            for (int x = 0; x < image.width(); x++) {
                g[y * image.width() + x] = 0.2989 * image.sample(x, y, 0) + 0.5870 * image.sample(x, y, 1)
                        + 0.1140 * image.sample(x, y, 2);
            }
        }
        return g;
    }

    /**
     * SSIM straight from the definition: for every pixel whose 11×11 window fits in the image, the
     * 2D Gaussian-weighted mean, variance and covariance as explicit window sums (two-pass, unlike
     * the E[x²] − μ² of the implementation), then the mean of S.
     */
    private static double naiveSsim(double[] a, double[] b, int w, int h) {
        double[][] weight = new double[11][11];
        double total = 0;
        for (int i = 0; i < 11; i++) {
            for (int j = 0; j < 11; j++) {
                weight[i][j] = Math.exp(-((i - 5) * (i - 5) + (j - 5) * (j - 5)) / (2 * 1.5 * 1.5));
                total += weight[i][j];
            }
        }
        double c2 = (0.03 * 255) * (0.03 * 255);
        double sum = 0;
        int count = 0;
        for (int cy = 5; cy < h - 5; cy++) {
            for (int cx = 5; cx < w - 5; cx++) {
                double mx = 0;
                double my = 0;
                for (int i = 0; i < 11; i++) {
                    for (int j = 0; j < 11; j++) {
                        int p = (cy + i - 5) * w + cx + j - 5;
                        mx += weight[i][j] / total * a[p];
                        my += weight[i][j] / total * b[p];
                    }
                }
                double vx = 0;
                double vy = 0;
                double cov = 0;
                for (int i = 0; i < 11; i++) {
                    for (int j = 0; j < 11; j++) {
                        int p = (cy + i - 5) * w + cx + j - 5;
                        double wt = weight[i][j] / total;
                        vx += wt * (a[p] - mx) * (a[p] - mx);
                        vy += wt * (b[p] - my) * (b[p] - my);
                        cov += wt * (a[p] - mx) * (b[p] - my);
                    }
                }
                sum += (2 * mx * my + C1) * (2 * cov + c2) / ((mx * mx + my * my + C1) * (vx + vy + c2));
                count++;
            }
        }
        return sum / count;
    }
}
