package io.hicache.core.nn;

import ai.djl.ndarray.NDArray;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.metrics.FlopCounter.Kind;
import io.hicache.core.runtime.Kernels;

/**
 * diffusers' {@code FeedForward} with tanh-GELU, as FLUX and Qwen-Image use it:
 * {@code prefix.net.0.proj} (d → inner), tanh-GELU, {@code prefix.net.2} (inner → d).
 */
public final class FeedForward {
    static final String UP = ".net.0.proj";
    static final String DOWN = ".net.2";

    private FeedForward() {}

    /** The MLP computation over explicit weights; a sparse method (Chipmunk) replaces the dense one. */
    @FunctionalInterface
    public interface Kernel {
        /** down(GELU_tanh(up(x))); {@code b1}, {@code b2} may be null. Counts the FLOPs it executed. */
        NDArray apply(SiteKey site, NDArray x, NDArray w1, NDArray b1, NDArray w2, NDArray b2, FlopCounter flops);

        /** Both projections in full. */
        Kernel DENSE = (site, x, w1, b1, w2, b2, flops) -> {
            long rows = x.getShape().size() / w1.getShape().get(1);
            flops.linear(Kind.MLP, rows, w1.getShape().get(1), w1.getShape().get(0));
            flops.linear(Kind.MLP, rows, w2.getShape().get(1), w2.getShape().get(0));
            NDArray h = Kernels.of(x).geluTanh(Layers.linear(x, w1, b1));
            return Layers.linear(h, w2, b2);
        };
    }

    public static ParameterSpec declare(ParameterSpec s, String prefix, long dim, long inner) {
        Linear.declare(s, prefix + UP, inner, dim, true);
        return Linear.declare(s, prefix + DOWN, dim, inner, true);
    }

    /** The feed-forward {@code prefix} on x [..., d] through {@code kernel}. */
    public static NDArray forward(Parameters p, String prefix, NDArray x, Kernel kernel, SiteKey site,
            FlopCounter flops) {
        return kernel.apply(site, x, p.get(prefix + UP + ".weight"), p.find(prefix + UP + ".bias"),
                p.get(prefix + DOWN + ".weight"), p.find(prefix + DOWN + ".bias"), flops);
    }
}
