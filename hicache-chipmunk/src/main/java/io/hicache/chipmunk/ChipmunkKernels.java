package io.hicache.chipmunk;

import ai.djl.ndarray.NDManager;
import io.hicache.core.nn.AttentionKernel;
import io.hicache.core.nn.FeedForward;
import io.hicache.flux.StatefulKernels;
import java.util.List;

/**
 * Chipmunk plugged into one FLUX pipeline: a fresh {@link ChipmunkState} per generation, the
 * patchify token order, and the summary of the last finished generation. Outside a generation
 * (a single forward) the kernels run dense.
 */
public final class ChipmunkKernels implements StatefulKernels {
    /** What a finished generation did: every decision, FLOP fractions and cache memory. */
    public record Summary(List<ChipmunkState.Event> events, double attentionFraction, double mlpFraction,
            long savedFlops, long peakCacheBytes) {}

    private final ChipmunkConfig config;
    private ChipmunkState state;
    private Summary last;

    public ChipmunkKernels(ChipmunkConfig config) {
        this.config = config;
    }

    public ChipmunkConfig config() {
        return config;
    }

    @Override
    public int[] begin(int gridHeight, int gridWidth, NDManager manager) {
        int[] order = config.patchifyEnabled()
                ? Selection.patchifyOrder(gridHeight, gridWidth, config.patchifyChunkSize1(), config.patchifyChunkSize2())
                : null;
        end();
        state = new ChipmunkState(config, manager);
        return order;
    }

    @Override
    public void beforeForward(int step) {
        if (state != null) {
            state.beginForward(step);
        }
    }

    @Override
    public AttentionKernel attention() {
        return (site, q, k, v, mask, flops) -> state == null ? AttentionKernel.DENSE.attend(site, q, k, v, mask, flops)
                : state.attend(site, q, k, v, mask, flops);
    }

    @Override
    public FeedForward.Kernel mlp() {
        return (site, x, w1, b1, w2, b2, flops) -> state == null
                ? FeedForward.Kernel.DENSE.apply(site, x, w1, b1, w2, b2, flops)
                : state.feedForward(site, x, w1, b1, w2, b2, flops);
    }

    @Override
    public void end() {
        if (state != null) {
            last = new Summary(List.copyOf(state.events()), state.attentionFraction(), state.mlpFraction(),
                    state.savedFlops(), state.peakBytesHeld());
            state.close();
            state = null;
        }
    }

    /** The last finished generation's summary, or null before the first. */
    public Summary lastGeneration() {
        return last;
    }
}
