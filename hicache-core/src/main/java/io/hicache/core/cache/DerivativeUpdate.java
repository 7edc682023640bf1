package io.hicache.core.cache;

/**
 * How many orders the finite-difference update at a full step forms, as upstream TaylorSeer/HiCache
 * decides it. With the new feature F, the stored orders old[0..c−1] and the step distance d between
 * the last two full steps the update is N[0] = F and N[i+1] = (N[i] − old[i]) / d for i < produced,
 * where produced = min(maxOrder, c) when the step is ≥ first_enhance − 1, else 0 (the differences of
 * the warm-up steps are dropped, older higher orders are discarded); the tensor work is
 * {@link io.hicache.core.runtime.Kernels#derivativeUpdate}.
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
}
