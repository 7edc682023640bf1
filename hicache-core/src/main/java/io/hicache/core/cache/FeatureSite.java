package io.hicache.core.cache;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicache.core.nn.TensorBytes;
import io.hicache.core.runtime.Kernels;

/**
 * The derivative stack of one cached module: a single contiguous tensor [c, …feature shape] holding
 * D^0..D^{c−1} in the feature's dtype, so a forecast is one weighted-sum pass over it.
 */
final class FeatureSite {
    private final NDManager manager;
    private NDArray stack;
    private int orders;

    FeatureSite(NDManager manager) {
        this.manager = manager;
    }

    int orders() {
        return orders;
    }

    long bytes() {
        return stack == null ? 0 : TensorBytes.of(stack);
    }

    /** The stack itself (tests: it must stay the same tensor across in-place updates). */
    NDArray stack() {
        return stack;
    }

    /** A view of D^1 (orders ≥ 2); the caller closes it. */
    NDArray firstDerivative() {
        return stack.get(1);
    }

    /**
     * Replaces the stack by the update of {@code feature} ({@code produced} new orders over step
     * distance {@code distance}). The feature is copied; the caller keeps ownership of it. When the
     * number of orders stays the same (every full step after the warm-up) the update is written into
     * the stack's own storage, so a full step allocates nothing.
     */
    void record(NDArray feature, int produced, int distance) {
        if (stack != null && produced + 1 == orders) {
            Kernels.of(feature).derivativeUpdateInPlace(feature, stack, distance);
            return;
        }
        NDArray next;
        if (stack == null) {
            try (NDArray view = feature.expandDims(0)) {
                next = view.duplicate();
            }
            next.attach(manager);
        } else {
            next = Kernels.of(feature).derivativeUpdate(feature, stack, produced, distance, manager);
        }
        if (stack != null) {
            stack.close();
        }
        stack = next;
        orders = (int) next.getShape().get(0);
    }

    /** Σ α_k·D^k for the given coefficients (length ≤ orders), attached to {@code into}. */
    NDArray forecast(double[] alpha, NDManager into) {
        if (stack == null) {
            throw new IllegalStateException("forecast requested before any full step stored this site");
        }
        if (alpha.length == 1) {
            // D^0 alone: a copy, so the caller may close what it gets
            try (NDArray view = stack.get(0)) {
                NDArray d0 = view.duplicate();
                d0.attach(into);
                return d0;
            }
        }
        if (alpha.length == orders) {
            return Kernels.of(stack).weightedSum(stack, alpha, into);
        }
        try (NDArray used = stack.get("0:" + alpha.length)) {
            return Kernels.of(stack).weightedSum(used, alpha, into);
        }
    }

    void clear() {
        if (stack != null) {
            stack.close();
            stack = null;
        }
        orders = 0;
    }
}
