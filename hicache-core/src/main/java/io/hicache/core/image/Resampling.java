package io.hicache.core.image;

/**
 * Image resizing that reproduces Pillow's {@code Image.resize(size, filter)} on 8-bit RGB images
 * pixel for pixel (Pillow's {@code ImagingResample} with the default box and no
 * {@code reducing_gap}): a separable convolution, horizontal pass first into an intermediate 8-bit
 * image, then the vertical pass.
 *
 * <p>Per output sample {@code xx} of a pass from {@code inSize} to {@code outSize}:
 * {@code scale = inSize/outSize}, {@code filterscale = max(scale, 1)} (when shrinking, the filter is
 * stretched by the scale factor so it averages over every input pixel it covers),
 * {@code support = filter support · filterscale}, {@code center = (xx + 0.5)·scale}, input range
 * {@code [(int)(center − support + 0.5), (int)(center + support + 0.5))} clipped to the image, weights
 * {@code filter((x − center + 0.5) / filterscale)} normalised to sum 1, then turned into fixed point
 * with {@link #PRECISION_BITS} fraction bits (rounded half away from zero). An output sample is
 * {@code (2^21 + Σ pixel·weight) >> 22}, clipped to [0, 255]. A pass whose size does not change is
 * skipped, as in Pillow.
 *
 * <p>The filter values use {@link StrictMath#sin}; the C library's {@code sin} may differ from it in
 * the last bit, which changes a fixed-point weight only when the weight lies within about 10⁻⁹ of a
 * rounding boundary.
 */
public final class Resampling {
    /** Fraction bits of the fixed-point weights: 32 bits − 8 for the pixel − 2 for overshoot and sign. */
    static final int PRECISION_BITS = 32 - 8 - 2;

    private Resampling() {}

    /** The resampling kernels, as Pillow defines them. */
    public enum Filter {
        /** Keys' cubic convolution with a = −0.5 (Pillow's {@code Image.BICUBIC}), support 2. */
        BICUBIC(2.0) {
            @Override
            double weight(double x) {
                final double a = -0.5;
                if (x < 0.0) {
                    x = -x;
                }
                if (x < 1.0) {
                    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
                }
                if (x < 2.0) {
                    return (((x - 5) * x + 8) * x - 4) * a;
                }
                return 0.0;
            }
        },
        /** sinc(x)·sinc(x/3) on [−3, 3) (Pillow's {@code Image.LANCZOS}), support 3. */
        LANCZOS(3.0) {
            @Override
            double weight(double x) {
                if (-3.0 <= x && x < 3.0) {
                    return sinc(x) * sinc(x / 3);
                }
                return 0.0;
            }
        };

        private final double support;

        Filter(double support) {
            this.support = support;
        }

        /** Half-width of the kernel at scale 1. */
        public double support() {
            return support;
        }

        /** The kernel's value at {@code x} (in input pixels at scale 1). */
        abstract double weight(double x);

        private static double sinc(double x) {
            if (x == 0.0) {
                return 1.0;
            }
            x = x * Math.PI;
            return StrictMath.sin(x) / x;
        }
    }

    /**
     * {@code image} resized to {@code width × height} with {@code filter}, as Pillow's
     * {@code image.resize((width, height), filter)} does for an {@code RGB} image. The same image
     * comes back when the size does not change.
     */
    public static RgbImage resize(RgbImage image, int width, int height, Filter filter) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("cannot resize to " + width + "x" + height);
        }
        if (3L * width * height > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("resized image " + width + "x" + height + " is too large");
        }
        if (width == image.width() && height == image.height()) {
            return image;
        }
        Weights vertical = Weights.of(image.height(), height, filter);
        byte[] pixels = image.bytes();
        int rows = image.height();
        int firstRow = 0;
        int w = image.width();
        if (width != image.width()) {
            // Only the input rows the vertical pass reads are resampled horizontally.
            firstRow = vertical.start[0];
            int lastRow = vertical.start[height - 1] + vertical.count[height - 1];
            rows = lastRow - firstRow;
            pixels = horizontal(pixels, image.width(), firstRow, rows, Weights.of(image.width(), width, filter));
            w = width;
        }
        if (height != image.height()) {
            pixels = vertical(pixels, w, firstRow, vertical);
        }
        return RgbImage.wrap(width, height, pixels);
    }

    /** Rows {@code firstRow .. firstRow+rows} of a {@code inWidth}-wide image, each resampled to the weights' output width. */
    private static byte[] horizontal(byte[] in, int inWidth, int firstRow, int rows, Weights k) {
        int outWidth = k.start.length;
        byte[] out = new byte[3 * outWidth * rows];
        for (int y = 0; y < rows; y++) {
            int rowIn = 3 * (firstRow + y) * inWidth;
            int rowOut = 3 * y * outWidth;
            for (int xx = 0; xx < outWidth; xx++) {
                int r = 1 << (PRECISION_BITS - 1);
                int g = r;
                int b = r;
                int base = rowIn + 3 * k.start[xx];
                int[] kk = k.fixed[xx];
                for (int x = 0; x < k.count[xx]; x++) {
                    int p = base + 3 * x;
                    r += (in[p] & 0xFF) * kk[x];
                    g += (in[p + 1] & 0xFF) * kk[x];
                    b += (in[p + 2] & 0xFF) * kk[x];
                }
                out[rowOut + 3 * xx] = clip8(r);
                out[rowOut + 3 * xx + 1] = clip8(g);
                out[rowOut + 3 * xx + 2] = clip8(b);
            }
        }
        return out;
    }

    /** A {@code width}-wide image whose row 0 is input row {@code firstRow}, resampled vertically. */
    private static byte[] vertical(byte[] in, int width, int firstRow, Weights k) {
        int outHeight = k.start.length;
        byte[] out = new byte[3 * width * outHeight];
        int stride = 3 * width;
        for (int yy = 0; yy < outHeight; yy++) {
            int[] kk = k.fixed[yy];
            int top = (k.start[yy] - firstRow) * stride;
            int rowOut = yy * stride;
            for (int i = 0; i < stride; i++) {
                int s = 1 << (PRECISION_BITS - 1);
                for (int y = 0; y < k.count[yy]; y++) {
                    s += (in[top + y * stride + i] & 0xFF) * kk[y];
                }
                out[rowOut + i] = clip8(s);
            }
        }
        return out;
    }

    private static byte clip8(int accumulator) {
        int v = accumulator >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** The weights of one pass: for output sample i, {@code count[i]} inputs from {@code start[i]}. */
    static final class Weights {
        final int[] start;
        final int[] count;
        /** Normalised weights in double precision, before the fixed-point rounding. */
        final double[][] normalised;
        final int[][] fixed;

        private Weights(int outSize) {
            start = new int[outSize];
            count = new int[outSize];
            normalised = new double[outSize][];
            fixed = new int[outSize][];
        }

        static Weights of(int inSize, int outSize, Filter filter) {
            Weights k = new Weights(outSize);
            // Pillow takes the box edges as floats: (float) inSize − 0f is exact below 2^24.
            double scale = (double) (float) inSize / outSize;
            double filterscale = Math.max(scale, 1.0);
            double support = filter.support() * filterscale;
            double inverseFilterscale = 1.0 / filterscale;
            for (int xx = 0; xx < outSize; xx++) {
                double center = (xx + 0.5) * scale;
                int xmin = Math.max((int) (center - support + 0.5), 0);
                int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
                double[] w = new double[Math.max(xmax, 0)];
                double sum = 0.0;
                for (int x = 0; x < w.length; x++) {
                    w[x] = filter.weight((x + xmin - center + 0.5) * inverseFilterscale);
                    sum += w[x];
                }
                if (sum != 0.0) {
                    for (int x = 0; x < w.length; x++) {
                        w[x] /= sum;
                    }
                }
                int[] f = new int[w.length];
                for (int x = 0; x < w.length; x++) {
                    f[x] = w[x] < 0 ? (int) (-0.5 + w[x] * (1 << PRECISION_BITS))
                            : (int) (0.5 + w[x] * (1 << PRECISION_BITS));
                }
                k.start[xx] = xmin;
                k.count[xx] = w.length;
                k.normalised[xx] = w;
                k.fixed[xx] = f;
            }
            return k;
        }
    }
}
