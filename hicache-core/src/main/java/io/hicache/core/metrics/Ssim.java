package io.hicache.core.metrics;

import io.hicache.core.image.RgbImage;
import java.util.Arrays;

/**
 * Mean structural similarity (Wang et al. 2004) as the upstream evaluation computes it
 * (docs/algorithm.md §9.2): scikit-image's
 * {@code structural_similarity(gray_a, gray_b, gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=255)} on {@code 0.2989·R + 0.5870·G + 0.1140·B}.
 *
 * <p>What that call does, and so what this class does:
 * <ul>
 *   <li>local statistics are weighted by scipy's Gaussian kernel with σ = 1.5 truncated at 3.5σ:
 *       radius {@code int(3.5·1.5 + 0.5) = 5}, weights {@code exp(−k²/(2σ²))} for k = −5..5
 *       normalised to sum 1, applied separably along rows and columns (an 11×11 window);</li>
 *   <li>μ = G∗x, σ² = G∗x² − μ², σ_xy = G∗(xy) − μ_x μ_y (population covariance), C1 = (0.01·255)²,
 *       C2 = (0.03·255)²,
 *       S = (2μ_xμ_y + C1)(2σ_xy + C2) / ((μ_x² + μ_y² + C1)(σ_x² + σ_y² + C2));</li>
 *   <li>the result is the mean of S after cropping {@code (11−1)/2 = 5} pixels from every side.</li>
 * </ul>
 * The crop removes exactly the pixels whose window reaches past the image, so the border mode of
 * the filter (reflect, nearest: it changed between scikit-image versions) never affects the mean.
 * This class therefore filters only the valid region, streaming rows through an 11-row ring buffer:
 * O(pixels × 11) work and O(width × 11) memory.
 */
public final class Ssim {
    private static final double SIGMA = 1.5;
    private static final double TRUNCATE = 3.5;
    private static final int RADIUS = (int) (TRUNCATE * SIGMA + 0.5);
    /** Side of the Gaussian window, 11: also the smallest image side SSIM accepts. */
    public static final int WINDOW = 2 * RADIUS + 1;
    private static final double K1 = 0.01;
    private static final double K2 = 0.03;
    private static final double RED = 0.2989;
    private static final double GREEN = 0.5870;
    private static final double BLUE = 0.1140;

    private Ssim() {}

    /** Mean SSIM of two RGB images through their grayscale, data range 255. */
    public static double of(RgbImage a, RgbImage b) {
        ImageChecks.sameSize(a, b);
        return mean(grayscale(a), grayscale(b), a.width(), a.height(), 255);
    }

    /** {@code 0.2989·R + 0.5870·G + 0.1140·B} per pixel, row-major, in double and unrounded. */
    public static double[] grayscale(RgbImage image) {
        byte[] rgb = image.toByteArray();
        double[] gray = new double[rgb.length / 3];
        for (int i = 0; i < gray.length; i++) {
            gray[i] = RED * (rgb[3 * i] & 0xFF) + GREEN * (rgb[3 * i + 1] & 0xFF) + BLUE * (rgb[3 * i + 2] & 0xFF);
        }
        return gray;
    }

    /** scipy's normalised Gaussian kernel, taps −RADIUS..RADIUS. */
    static double[] kernel() {
        double[] k = new double[WINDOW];
        double sum = 0;
        for (int i = 0; i < WINDOW; i++) {
            int x = i - RADIUS;
            k[i] = Math.exp(-0.5 / (SIGMA * SIGMA) * (x * x));
            sum += k[i];
        }
        for (int i = 0; i < WINDOW; i++) {
            k[i] /= sum;
        }
        return k;
    }

    /**
     * Mean SSIM of two single-channel images ({@code width × height}, row-major).
     *
     * @throws IllegalArgumentException when the images are smaller than the 11×11 window (as
     *     scikit-image refuses them) or the arrays do not match the size
     */
    public static double mean(double[] a, double[] b, int width, int height, double dataRange) {
        if (a.length != (long) width * height || b.length != a.length) {
            throw new IllegalArgumentException("arrays of " + a.length + " and " + b.length
                    + " values for a " + width + "x" + height + " image");
        }
        if (width < WINDOW || height < WINDOW) {
            throw new IllegalArgumentException("SSIM needs images of at least " + WINDOW + "x" + WINDOW
                    + ", got " + width + "x" + height);
        }
        double[] g = kernel();
        double c1 = (K1 * dataRange) * (K1 * dataRange);
        double c2 = (K2 * dataRange) * (K2 * dataRange);
        int outWidth = width - 2 * RADIUS;
        // ring[slot][stat][x]: the row filtered horizontally, for the statistics x, y, x², y², xy
        double[][][] ring = new double[WINDOW][5][outWidth];
        double[] xx = new double[width];
        double[] yy = new double[width];
        double[] xy = new double[width];
        double[][] stats = new double[5][outWidth];
        double sum = 0;
        for (int row = 0; row < height; row++) {
            int base = row * width;
            for (int i = 0; i < width; i++) {
                double p = a[base + i];
                double q = b[base + i];
                xx[i] = p * p;
                yy[i] = q * q;
                xy[i] = p * q;
            }
            double[][] slot = ring[row % WINDOW];
            filterRow(a, base, g, slot[0]);
            filterRow(b, base, g, slot[1]);
            filterRow(xx, 0, g, slot[2]);
            filterRow(yy, 0, g, slot[3]);
            filterRow(xy, 0, g, slot[4]);
            if (row >= WINDOW - 1) {
                sum += ssimRowSum(ring, row - (WINDOW - 1), g, stats, c1, c2);
            }
        }
        return sum / ((double) outWidth * (height - 2 * RADIUS));
    }

    /** out[x] = Σ_k g[k]·v[from + x + k]: the valid part of one row's horizontal correlation. */
    private static void filterRow(double[] v, int from, double[] g, double[] out) {
        Arrays.fill(out, 0);
        for (int k = 0; k < WINDOW; k++) {
            double w = g[k];
            int offset = from + k;
            for (int x = 0; x < out.length; x++) {
                out[x] += w * v[offset + x];
            }
        }
    }

    /**
     * Filters the ring's rows {@code top..top+10} vertically into {@code stats} (μx, μy, E[x²], E[y²],
     * E[xy] per output pixel) and returns the sum of S along the output row.
     */
    private static double ssimRowSum(double[][][] ring, int top, double[] g, double[][] stats, double c1, double c2) {
        for (int s = 0; s < 5; s++) {
            Arrays.fill(stats[s], 0);
            for (int k = 0; k < WINDOW; k++) {
                double[] r = ring[(top + k) % WINDOW][s];
                double w = g[k];
                double[] acc = stats[s];
                for (int x = 0; x < acc.length; x++) {
                    acc[x] += w * r[x];
                }
            }
        }
        double sum = 0;
        for (int x = 0; x < stats[0].length; x++) {
            double mx = stats[0][x];
            double my = stats[1][x];
            double vx = stats[2][x] - mx * mx;
            double vy = stats[3][x] - my * my;
            double vxy = stats[4][x] - mx * my;
            sum += (2 * mx * my + c1) * (2 * vxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
        }
        return sum;
    }
}
