package io.hicache.core.cache;

/**
 * The finite-difference update at a full step, as upstream TaylorSeer/HiCache does it, expressed
 * as one linear map so the tensor work is a single matrix product.
 *
 * <p>With the new feature F, the stored orders old[0..c−1] and the step distance d between the
 * last two full steps: N[0] = F and N[i+1] = (N[i] − old[i]) / d for i < produced, where produced
 * = min(maxOrder, c) when the step is ≥ first_enhance − 1, else 0 (the differences of the warm-up
 * steps are dropped, older higher orders are discarded). Row j of the matrix holds the weights of
 * [F, old[0], …, old[c−1]] in N[j].
 */
public final class DerivativeUpdate {
    private DerivativeUpdate() {}

    /** How many derivative orders a full step forms. */
    public static int produced(int storedOrders, int maxOrder, int step, int firstEnhance) {
        if (storedOrders == 0 || step < firstEnhance - 1) {
            return 0;
        }
        return Math.min(maxOrder, storedOrders);
    }

    /** The (produced + 1) × (storedOrders + 1) update matrix. */
    public static double[][] matrix(int storedOrders, int produced, int distance) {
        if (produced > storedOrders) {
            throw new IllegalArgumentException("cannot form " + produced + " orders from " + storedOrders);
        }
        if (produced > 0 && distance <= 0) {
            throw new IllegalArgumentException("step distance must be positive, got " + distance);
        }
        double[][] m = new double[produced + 1][storedOrders + 1];
        m[0][0] = 1;
        for (int i = 0; i < produced; i++) {
            for (int j = 0; j <= storedOrders; j++) {
                m[i + 1][j] = m[i][j] / distance;
            }
            m[i + 1][i + 1] -= 1.0 / distance;
        }
        return m;
    }
}
