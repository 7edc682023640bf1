package io.hicache.qwen.vision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.qwen.vision.EditSizes.Size;
import org.junit.jupiter.api.Test;

class EditSizesTest {
    private static final long AREA = 1024L * 1024L;
    private static final long MIN = 3136;
    private static final long MAX = 12_845_056;

    @Test
    void calculateDimensionsWorkedByHand() {
        // 1:1: √2^20 = 1024, 1024/32 = 32 exactly.
        assertEquals(new Size(1024, 1024), EditSizes.calculateDimensions(AREA, 1.0));
        // 4:3: w = √(2^20·4/3) = 1182.41, /32 = 36.95 → 37 → 1184; h = 1182.41/(4/3) = 886.81,
        // /32 = 27.71 → 28 → 896.
        assertEquals(new Size(1184, 896), EditSizes.calculateDimensions(AREA, 4.0 / 3));
        assertEquals(new Size(896, 1184), EditSizes.calculateDimensions(AREA, 3.0 / 4));
        // 16:9: w = 1024·4/3 = 1365.33, /32 = 42.67 → 43 → 1376; h = 768, /32 = 24 → 768.
        assertEquals(new Size(1376, 768), EditSizes.calculateDimensions(AREA, 16.0 / 9));
        assertEquals(new Size(768, 1376), EditSizes.calculateDimensions(AREA, 9.0 / 16));
        // 256x200 (ratio 1.28): w = 1024·√1.28 = 1158.52, /32 = 36.20 → 1152; h = 905.10, /32 =
        // 28.28 → 896.
        assertEquals(new Size(1152, 896), EditSizes.calculateDimensions(AREA, 256.0 / 200));
        // The same ratio at area 6400: w = √8192 = 90.51, /32 = 2.83 → 96; h = 70.71, /32 = 2.21 → 64.
        assertEquals(new Size(96, 64), EditSizes.calculateDimensions(6400, 256.0 / 200));
        // Extreme 200:1: w = √(2^20·200) = 14481.55, /32 = 452.55 → 453 → 14496; h = 72.41, /32 =
        // 2.26 → 64.
        assertEquals(new Size(14496, 64), EditSizes.calculateDimensions(AREA, 200.0));
    }

    @Test
    void heightComesFromTheUnroundedWidth() {
        // 2:1: w = √2^21 = 1448.15, /32 = 45.25 → 1440; h = 1448.15/2 = 724.08, /32 = 22.63 → 23
        // → 736. Rounding from the already-rounded width instead would give 1440/2/32 = 22.5 → 22
        // → 704: diffusers divides the unrounded width.
        assertEquals(new Size(1440, 736), EditSizes.calculateDimensions(AREA, 2.0));
        assertEquals(new Size(1440, 736), EditSizes.conditionSize(2048, 1024));
    }

    @Test
    void pythonRoundsHalvesToEven() {
        // Area 6400, 1:1: w = h = 80, 80/32 = 2.5 → round() = 2 (not 3) → 64.
        assertEquals(new Size(64, 64), EditSizes.calculateDimensions(6400, 1.0));
        // Area 2304, 1:1: 48/32 = 1.5 → 2 → 64.
        assertEquals(new Size(64, 64), EditSizes.calculateDimensions(2304, 1.0));
        // Area 25600: 160/32 = 5 exactly.
        assertEquals(new Size(160, 160), EditSizes.calculateDimensions(25600, 1.0));
        // smart_resize 70x70: 70/28 = 2.5 → 2 → 56 (56² = 3136 is not below min_pixels).
        assertEquals(new Size(56, 56), EditSizes.smartResize(70, 70, 28, MIN, MAX));
        // 42/28 = 1.5 → 2 → 56.
        assertEquals(new Size(56, 56), EditSizes.smartResize(42, 42, 28, MIN, MAX));
    }

    @Test
    void conditionAndOutputSizes() {
        assertEquals(new Size(1184, 896), EditSizes.conditionSize(1600, 1200));
        assertEquals(new Size(1024, 1024), EditSizes.conditionSize(333, 333));
        // Condition sizes are multiples of 32, so flooring them to 16 keeps them.
        assertEquals(new Size(1184, 896), EditSizes.defaultOutputSize(new Size(1184, 896)));
        // A size given explicitly is floored: 1000 // 16 · 16 = 992, 1010 // 16 · 16 = 1008.
        assertEquals(new Size(992, 1008), EditSizes.defaultOutputSize(new Size(1000, 1010)));
        // 10000:1 would give a height of round(10.24/32)·32 = 0.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EditSizes.conditionSize(10000, 1));
        assertTrue(e.getMessage().contains("10000x1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> EditSizes.calculateDimensions(AREA, 0));
        assertThrows(IllegalArgumentException.class, () -> EditSizes.calculateDimensions(0, 1));
    }

    @Test
    void smartResizeWorkedByHand() {
        // 1024²: 1024/28 = 36.57 → 37 → 1036; 1036² = 1,073,296 within [3136, 12,845,056].
        assertEquals(new Size(1036, 1036), EditSizes.smartResize(1024, 1024, 28, MIN, MAX));
        // With the class default max_pixels 1,003,520: 1036² is over, β = √(2^20/1003520) =
        // 1.02220, 1024/β/28 = 35.78 → 35 → 980.
        assertEquals(new Size(980, 980), EditSizes.smartResize(1024, 1024, 28, MIN, 1_003_520));
        // The 4:3 condition image 1184x896: 896/28 = 32 → 896; 1184/28 = 42.29 → 42 → 1176.
        assertEquals(new Size(1176, 896), EditSizes.smartResize(896, 1184, 28, MIN, MAX));
        // 16:9 condition 1376x768: 768/28 = 27.43 → 756; 1376/28 = 49.14 → 1372.
        assertEquals(new Size(1372, 756), EditSizes.smartResize(768, 1376, 28, MIN, MAX));
        // 3000x2000 capped at 1,003,520: β = √(6e6/1003520) = 2.44521; 2000/β/28 = 29.21 → 812,
        // 3000/β/28 = 43.82 → 1204.
        assertEquals(new Size(1204, 812), EditSizes.smartResize(2000, 3000, 28, MIN, 1_003_520));
    }

    @Test
    void smartResizeScalesSmallImagesUp() {
        // 28x28 rounds to 784 < 3136: β = √(3136/784) = 2, ceil(28·2/28) = 2 → 56.
        assertEquals(new Size(56, 56), EditSizes.smartResize(28, 28, 28, MIN, MAX));
        // h 30, w 40 round to 28x28 = 784 < 3136: β = √(3136/1200) = 1.6166;
        // ceil(30β/28) = ceil(1.73) = 2 → 56, ceil(40β/28) = ceil(2.31) = 3 → 84.
        assertEquals(new Size(84, 56), EditSizes.smartResize(30, 40, 28, MIN, MAX));
    }

    @Test
    void smartResizeExtremes() {
        // Aspect exactly 200 is allowed: 28x5600 rounds to itself, 156,800 pixels.
        assertEquals(new Size(5600, 28), EditSizes.smartResize(28, 5600, 28, MIN, MAX));
        // Over 200 (5657/28 = 202.04) is transformers' ValueError.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EditSizes.smartResize(28, 5657, 28, MIN, MAX));
        assertTrue(e.getMessage().contains("aspect ratio"), e.getMessage());
        // A side below the factor is refused.
        assertThrows(IllegalArgumentException.class, () -> EditSizes.smartResize(27, 100, 28, MIN, MAX));
        // 28x5600 capped at 100,000: β = √1.568 = 1.2522; 28/β/28 = 0.80 floors to 0, kept at 28;
        // 5600/β/28 = 159.7 → 159 → 4452.
        assertEquals(new Size(4452, 28), EditSizes.smartResize(28, 5600, 28, MIN, 100_000));
    }
}
