package io.hicache.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.hicache.core.image.RgbImage;
import org.junit.jupiter.api.Test;

class PsnrTest {
    @Test
    void handWorkedMse() {
        RgbImage a = RgbImage.of(2, 1, new byte[] {0, 0, 0, 10, 20, 30});
        RgbImage b = RgbImage.of(2, 1, new byte[] {0, 0, 0, 13, 16, 30});
        // differences 3 and −4 over 6 samples of [0,1]-scaled values
        double mse = (9 + 16) / (255.0 * 255.0) / 6;
        assertEquals(mse, Psnr.mse(a, b), 1e-18);
        assertEquals(20 * Math.log10(1 / Math.sqrt(mse)), Psnr.of(a, b), 1e-12);
        assertEquals(41.932916026, Psnr.of(a, b), 1e-9); // 10·log10(65025·6/25) = 10·log10(15606)
    }

    @Test
    void offByOneEverywhereIs20Log10Of255() {
        RgbImage a = RgbImage.filled(7, 5, 100, 50, 0);
        RgbImage b = RgbImage.filled(7, 5, 101, 49, 1);
        assertEquals(48.130803608679102, Psnr.of(a, b), 1e-12);
    }

    /** numpy: 20*log10(1/sqrt(mean((A/255 - B/255)**2))) on the {@link TestImages} patterns. */
    @Test
    void matchesNumpyOnReferencePatterns() {
        assertEquals(26.846495727491995, Psnr.of(TestImages.patternA(), TestImages.patternB()), 1e-12);
        assertEquals(7.7616798651650987, Psnr.of(TestImages.patternA(), TestImages.patternC()), 1e-12);
    }

    @Test
    void identicalImagesAreInfinite() {
        RgbImage a = TestImages.random(9, 4, 1);
        assertEquals(Double.POSITIVE_INFINITY, Psnr.of(a, RgbImage.of(9, 4, a.toByteArray())));
    }

    @Test
    void isSymmetricAndRejectsSizeMismatch() {
        RgbImage a = TestImages.random(9, 4, 2);
        RgbImage b = TestImages.random(9, 4, 3);
        assertEquals(Psnr.of(a, b), Psnr.of(b, a), 0.0);
        assertThrows(IllegalArgumentException.class, () -> Psnr.of(a, TestImages.random(4, 9, 4)));
    }
}
