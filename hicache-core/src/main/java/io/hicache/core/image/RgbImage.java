package io.hicache.core.image;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.util.Arrays;

/**
 * An immutable 8-bit RGB image: {@code width × height} pixels stored row-major as interleaved
 * {@code R, G, B} bytes (the layout of a PNG scanline and of numpy's {@code HWC uint8}).
 */
public final class RgbImage {
    private final int width;
    private final int height;
    private final byte[] rgb;

    private RgbImage(int width, int height, byte[] rgb) {
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    /** An image from interleaved RGB bytes (copied), {@code 3·width·height} of them. */
    public static RgbImage of(int width, int height, byte[] rgb) {
        checkSize(width, height);
        if (rgb.length != 3L * width * height) {
            throw new IllegalArgumentException("expected " + 3L * width * height + " RGB bytes for "
                    + width + "x" + height + ", got " + rgb.length);
        }
        return new RgbImage(width, height, rgb.clone());
    }

    /** An image of one colour. */
    public static RgbImage filled(int width, int height, int red, int green, int blue) {
        checkSize(width, height);
        byte[] rgb = new byte[3 * width * height];
        for (int i = 0; i < rgb.length; i += 3) {
            rgb[i] = (byte) red;
            rgb[i + 1] = (byte) green;
            rgb[i + 2] = (byte) blue;
        }
        return new RgbImage(width, height, rgb);
    }

    /** Takes ownership of {@code rgb}; for code in this package that has just filled a fresh array. */
    static RgbImage wrap(int width, int height, byte[] rgb) {
        return new RgbImage(width, height, rgb);
    }

    /**
     * The RGB pixels of any {@link BufferedImage}. Alpha, where present, is dropped (not composited):
     * the colour channels are kept as stored.
     */
    public static RgbImage fromBufferedImage(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        byte[] rgb = new byte[3 * w * h];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0, o = 3 * y * w; x < w; x++, o += 3) {
                int p = row[x];
                rgb[o] = (byte) (p >>> 16);
                rgb[o + 1] = (byte) (p >>> 8);
                rgb[o + 2] = (byte) p;
            }
        }
        return new RgbImage(w, h, rgb);
    }

    /** A new {@link BufferedImage#TYPE_3BYTE_BGR} copy (the type ImageIO reads opaque PNGs into). */
    public BufferedImage toBufferedImage() {
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
        byte[] bgr = ((DataBufferByte) out.getRaster().getDataBuffer()).getData();
        for (int i = 0; i < rgb.length; i += 3) {
            bgr[i] = rgb[i + 2];
            bgr[i + 1] = rgb[i + 1];
            bgr[i + 2] = rgb[i];
        }
        return out;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** Channel {@code c} (0 = R, 1 = G, 2 = B) of pixel (x, y), 0..255. */
    public int sample(int x, int y, int c) {
        if (x < 0 || x >= width || y < 0 || y >= height || c < 0 || c > 2) {
            throw new IndexOutOfBoundsException("(" + x + ", " + y + ", " + c + ") outside " + width + "x" + height + "x3");
        }
        return rgb[3 * (y * width + x) + c] & 0xFF;
    }

    /** Pixel (x, y) as {@code 0xRRGGBB}. */
    public int rgb(int x, int y) {
        return sample(x, y, 0) << 16 | sample(x, y, 1) << 8 | sample(x, y, 2);
    }

    /** A copy of the interleaved RGB bytes. */
    public byte[] toByteArray() {
        return rgb.clone();
    }

    /** The backing bytes, for read-only use inside this package (no copy of a 3 MB image per PNG write). */
    byte[] bytes() {
        return rgb;
    }

    /**
     * This image shrunk by an integer factor: each output pixel is the mean of a
     * {@code factor × factor} block, rounded half up; rows and columns that do not fill a block are
     * dropped. Averaging (unlike point sampling) keeps fine detail from aliasing in thumbnails.
     */
    public RgbImage downsample(int factor) {
        if (factor < 1 || factor > width || factor > height) {
            throw new IllegalArgumentException("downsample factor " + factor + " for a " + width + "x" + height + " image");
        }
        if (factor == 1) {
            return this;
        }
        int w = width / factor;
        int h = height / factor;
        int n = factor * factor;
        byte[] out = new byte[3 * w * h];
        int[] sums = new int[3 * w];
        for (int oy = 0; oy < h; oy++) {
            Arrays.fill(sums, 0);
            for (int y = oy * factor; y < (oy + 1) * factor; y++) {
                for (int x = 0; x < w * factor; x++) {
                    int i = 3 * (y * width + x);
                    int s = 3 * (x / factor);
                    sums[s] += rgb[i] & 0xFF;
                    sums[s + 1] += rgb[i + 1] & 0xFF;
                    sums[s + 2] += rgb[i + 2] & 0xFF;
                }
            }
            for (int i = 0; i < sums.length; i++) {
                out[3 * oy * w + i] = (byte) ((sums[i] + n / 2) / n);
            }
        }
        return new RgbImage(w, h, out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RgbImage && ((RgbImage) o).width == width && ((RgbImage) o).height == height
                && Arrays.equals(((RgbImage) o).rgb, rgb);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + Arrays.hashCode(rgb);
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "x" + height + "]";
    }

    private static void checkSize(int width, int height) {
        if (width < 1 || height < 1 || 3L * width * height > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("unsupported image size " + width + "x" + height);
        }
    }
}
