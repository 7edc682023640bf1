package io.hicache.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.awt.image.BufferedImage;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RgbImageTest {
    @Test
    void pixelsAreInterleavedRowMajor() {
        // 2x2: (0,0)=(1,2,3) (1,0)=(4,5,6) (0,1)=(7,8,9) (1,1)=(250,251,252)
        RgbImage img = RgbImage.of(2, 2, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, (byte) 250, (byte) 251, (byte) 252});
        assertEquals(4, img.sample(1, 0, 0));
        assertEquals(9, img.sample(0, 1, 2));
        assertEquals(0xFAFBFC, img.rgb(1, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> img.sample(2, 0, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> img.sample(0, 0, 3));
    }

    @Test
    void isImmutable() {
        byte[] bytes = {1, 2, 3};
        RgbImage img = RgbImage.of(1, 1, bytes);
        bytes[0] = 99;
        img.toByteArray()[1] = 99;
        assertArrayEquals(new byte[] {1, 2, 3}, img.toByteArray());
    }

    @Test
    void rejectsWrongSizes() {
        assertThrows(IllegalArgumentException.class, () -> RgbImage.of(2, 2, new byte[11]));
        assertThrows(IllegalArgumentException.class, () -> RgbImage.of(0, 2, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> RgbImage.filled(1, -1, 0, 0, 0));
    }

    @Test
    void bufferedImageRoundTripKeepsEveryByte() {
        byte[] bytes = new byte[3 * 17 * 9];
        new Random(1).nextBytes(bytes);
        RgbImage img = RgbImage.of(17, 9, bytes);
        BufferedImage b = img.toBufferedImage();
        assertEquals(17, b.getWidth());
        assertEquals(9, b.getHeight());
        for (int y = 0; y < 9; y++) {
            for (int x = 0; x < 17; x++) {
                assertEquals(img.rgb(x, y), b.getRGB(x, y) & 0xFFFFFF);
            }
        }
        assertEquals(img, RgbImage.fromBufferedImage(b));
    }

    @Test
    void fromBufferedImageDropsAlpha() {
        BufferedImage argb = new BufferedImage(1, 1, BufferedImage.TYPE_INT_ARGB);
        argb.setRGB(0, 0, 0x80102030);
        assertEquals(0x102030, RgbImage.fromBufferedImage(argb).rgb(0, 0));
    }

    @Test
    void equalityIsByContent() {
        assertEquals(RgbImage.filled(3, 2, 1, 2, 3), RgbImage.filled(3, 2, 1, 2, 3));
        assertEquals(RgbImage.filled(3, 2, 1, 2, 3).hashCode(), RgbImage.filled(3, 2, 1, 2, 3).hashCode());
        assertNotEquals(RgbImage.filled(3, 2, 1, 2, 3), RgbImage.filled(2, 3, 1, 2, 3));
        assertNotEquals(RgbImage.filled(3, 2, 1, 2, 3), RgbImage.filled(3, 2, 1, 2, 4));
    }

    @Test
    void downsampleAveragesBlocksRoundingHalfUp() {
        // 5x2 red channel 0,1,2,3,9 / 10,11,12,13,9 → factor 2 blocks (0,1,10,11) and (2,3,12,13); column 4 dropped
        byte[] bytes = new byte[3 * 10];
        int[] red = {0, 1, 2, 3, 9, 10, 11, 12, 13, 9};
        for (int i = 0; i < 10; i++) {
            bytes[3 * i] = (byte) red[i];
            bytes[3 * i + 1] = (byte) 255;
            bytes[3 * i + 2] = (byte) (i % 2); // blocks of 0,1,0,1 → mean 0.5 → rounds up to 1
        }
        RgbImage small = RgbImage.of(5, 2, bytes).downsample(2);
        assertEquals(2, small.width());
        assertEquals(1, small.height());
        assertEquals(6, small.sample(0, 0, 0)); // 22/4 = 5.5 → 6
        assertEquals(8, small.sample(1, 0, 0)); // 30/4 = 7.5 → 8
        assertEquals(255, small.sample(0, 0, 1));
        assertEquals(1, small.sample(1, 0, 2));
        RgbImage img = RgbImage.filled(3, 3, 1, 2, 3);
        assertEquals(img, img.downsample(1));
        assertThrows(IllegalArgumentException.class, () -> img.downsample(4));
        assertThrows(IllegalArgumentException.class, () -> img.downsample(0));
    }
}
