package io.hicache.flux;

import ai.djl.ndarray.NDManager;
import io.hicache.core.nn.AttentionKernel;
import io.hicache.core.nn.FeedForward;
import java.util.Map;

/**
 * Attention and MLP kernels that keep state across the steps of one generation (a sparse method
 * such as Chipmunk), and how the FLUX denoiser drives them: {@link #begin} before the loop,
 * {@link #beforeForward} with the sampler's step before every transformer forward, {@link #end}
 * after the loop (also when it fails). A forward that step caching skips calls no kernel. One
 * generation at a time, as a pipeline runs.
 */
public interface StatefulKernels {
    /**
     * Starts a generation of {@code steps} steps on a packed token grid of {@code gridHeight} ×
     * {@code gridWidth} image tokens with its state under {@code manager}; returns the order to run the image tokens in
     * (position p holds token order[p]), or null for the natural order.
     *
     * @throws IllegalArgumentException when the grid cannot be used
     */
    int[] begin(int gridHeight, int gridWidth, int steps, NDManager manager);

    /** The next forwards are at sampler step {@code step}. */
    void beforeForward(int step);

    /** The attention core of every block of the current generation. */
    AttentionKernel attention();

    /** The image MLP of the double blocks and the MLP of the single blocks of the current generation. */
    FeedForward.Kernel mlp();

    /**
     * Ends the generation (if one runs) and frees its state; returns its measures by name (e.g.
     * FLOP fractions, cache bytes), empty when no generation ran.
     */
    Map<String, Double> end();
}
