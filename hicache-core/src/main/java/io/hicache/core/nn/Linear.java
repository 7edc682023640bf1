package io.hicache.core.nn;

import ai.djl.ndarray.NDArray;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.metrics.FlopCounter.Kind;

/**
 * A linear layer y = x·Wᵀ + b whose weights are {@code name.weight} [out, in] and, optionally,
 * {@code name.bias} [out] in a prefix-scoped {@link Parameters} view. The names are declared and
 * read here only, so the spec and the use cannot drift.
 */
public final class Linear {
    private Linear() {}

    /** Declares {@code name.weight} [out, in] and, when {@code bias}, {@code name.bias} [out]. */
    public static ParameterSpec declare(ParameterSpec s, String name, long out, long in, boolean bias) {
        return s.linear(name, out, in, bias);
    }

    /** x·Wᵀ + b over the last axis of {@code x}, counting 2·rows·in·out FLOPs as {@code kind}. */
    public static NDArray forward(Parameters p, String name, NDArray x, Kind kind, FlopCounter flops) {
        NDArray w = p.get(name + ".weight");
        long out = w.getShape().get(0);
        long in = w.getShape().get(1);
        flops.linear(kind, x.getShape().size() / in, in, out);
        return Layers.linear(x, w, p.find(name + ".bias"));
    }
}
