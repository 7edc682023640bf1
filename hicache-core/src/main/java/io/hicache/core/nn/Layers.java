package io.hicache.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.core.Linear;

/** Small stateless building blocks over DJL ops shared by every model. */
public final class Layers {
    private Layers() {}

    /** x·Wᵀ + b with W stored [out, in] (PyTorch layout); {@code b} may be null. */
    public static NDArray linear(NDArray x, NDArray w, NDArray b) {
        return Linear.linear(x, w, b).singletonOrThrow();
    }

    /** {@code linear(x, params[prefix.weight], params[prefix.bias] or none)}. */
    public static NDArray linear(NDArray x, Parameters p, String prefix) {
        return linear(x, p.get(prefix + ".weight"), p.find(prefix + ".bias"));
    }
}
