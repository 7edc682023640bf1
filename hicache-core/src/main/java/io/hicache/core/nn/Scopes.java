package io.hicache.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.function.UnaryOperator;

/**
 * Bounds the lifetime of intermediates. DJL frees native memory only when a manager closes, and an
 * op's result belongs to the manager of its first operand; so a forward pass that starts from an
 * input temporarily attached to a fresh sub-manager creates every intermediate there, and closing
 * that manager frees them all. Model code must therefore keep activations (never weights) as the
 * first operand of each op.
 */
public final class Scopes {
    private Scopes() {}

    /**
     * {@code f(x)}, with every intermediate freed on return. The result is attached to {@code x}'s
     * manager; {@code x} itself is left where it was.
     */
    public static NDArray apply(NDArray x, UnaryOperator<NDArray> f) {
        NDManager home = x.getManager();
        try (NDManager scope = home.newSubManager()) {
            x.tempAttach(scope);
            NDArray y = f.apply(x);
            y.attach(home);
            return y;
        }
    }

    /**
     * As {@link #apply} for a chain of layers: {@code x} is closed once {@code f(x)} exists, so a
     * deep stack holds one activation at a time. Never pass an array the caller still needs.
     */
    public static NDArray step(NDArray x, UnaryOperator<NDArray> f) {
        NDArray y = apply(x, f);
        if (y != x) {
            x.close();
        }
        return y;
    }
}
