package io.hicache.core.cache;

/**
 * The coefficients α_k(x) that turn the stored divided differences D^0..D^{c−1} into a forecast
 * F̂ = Σ α_k·D^k at distance x (steps since the last full step). Computed on the host in double;
 * the tensor work of a forecast is one weighted sum.
 */
public abstract class Basis {
    private Basis() {}

    /**
     * Coefficients for the orders actually used, given {@code available} stored orders (≥ 1).
     * The result has length ≤ available; α_0 is always 1.
     */
    public abstract double[] coefficients(int available, double x);

    /** TaylorSeer: α_k = x^k / k!, using min(maxOrder + 1, available) orders. */
    public static Basis taylor(int maxOrder) {
        return new Basis() {
            @Override
            public double[] coefficients(int available, double x) {
                int e = Math.min(maxOrder + 1, available);
                double[] a = new double[e];
                double term = 1;
                for (int k = 0; k < e; k++) {
                    a[k] = term;
                    term = term * x / (k + 1);
                }
                return a;
            }
        };
    }

    /**
     * HiCache: α_k = σ^k·H_k(σx)/k! with physicists' Hermite polynomials, K = min(maxOrder,
     * available − 1) orders above D^0; with K < 1 the forecast is D^0.
     */
    public static Basis hermite(double sigma, int maxOrder) {
        return new Basis() {
            @Override
            public double[] coefficients(int available, double x) {
                int k = Math.min(maxOrder, available - 1);
                if (k < 1) {
                    return new double[] {1};
                }
                double u = sigma * x;
                double[] a = new double[k + 1];
                a[0] = 1;
                double hPrev = 1; // H_0
                double h = 2 * u; // H_1
                double sigmaPow = 1;
                double factorial = 1;
                for (int n = 1; n <= k; n++) {
                    if (n >= 2) {
                        double next = 2 * u * h - 2 * (n - 1) * hPrev;
                        hPrev = h;
                        h = next;
                    }
                    sigmaPow *= sigma;
                    factorial *= n;
                    a[n] = sigmaPow * h / factorial;
                }
                return a;
            }
        };
    }

    /** "Hi-Taylor" ablation: α_k = σ^{2k} x^k / k!, orders as in {@link #hermite}. */
    public static Basis scaledTaylor(double sigma, int maxOrder) {
        return new Basis() {
            @Override
            public double[] coefficients(int available, double x) {
                int k = Math.min(maxOrder, available - 1);
                if (k < 1) {
                    return new double[] {1};
                }
                double[] a = new double[k + 1];
                double term = 1;
                for (int n = 0; n <= k; n++) {
                    a[n] = term;
                    term = term * sigma * sigma * x / (n + 1);
                }
                return a;
            }
        };
    }

    /** FORA: the last full-step feature, unchanged. */
    public static Basis reuse() {
        return new Basis() {
            @Override
            public double[] coefficients(int available, double x) {
                return new double[] {1};
            }
        };
    }

    /** The physicists' Hermite polynomial H_n(u) by its recurrence (exposed for tests and docs). */
    public static double hermitePolynomial(int n, double u) {
        double hPrev = 1;
        if (n == 0) {
            return hPrev;
        }
        double h = 2 * u;
        for (int k = 2; k <= n; k++) {
            double next = 2 * u * h - 2 * (k - 1) * hPrev;
            hPrev = h;
            h = next;
        }
        return h;
    }
}
