package io.hicache.chipmunk;

import ai.djl.ndarray.NDManager;
import io.hicache.core.nn.AttentionKernel;
import io.hicache.core.nn.FeedForward;
import io.hicache.flux.StatefulKernels;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Chipmunk plugged into one FLUX pipeline: a fresh {@link ChipmunkState} per generation, the
 * patchify token order, and the summary of the last finished generation. Outside a generation
 * (a single forward) the kernels run dense.
 */
public final class ChipmunkKernels implements StatefulKernels {
    /**
     * What a finished generation did: every decision; attention-core and sparsifiable-MLP FLOPs
     * executed over those of the same calls dense (the FLOPs Chipmunk saves) and over those of every
     * step dense (what step caching saves counts too); the most cache bytes held.
     */
    public record Summary(List<ChipmunkState.Event> events, double attentionFraction, double mlpFraction,
            double attentionFractionOfAllSteps, double mlpFractionOfAllSteps, long savedFlops, long peakCacheBytes) {
        /** The measures as a generation reports them (docs/chipmunk.md §7). */
        public Map<String, Double> metrics() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("attention_flop_fraction", attentionFractionOfAllSteps);
            m.put("mlp_flop_fraction", mlpFractionOfAllSteps);
            m.put("chipmunk_cache_peak_bytes", (double) peakCacheBytes);
            return m;
        }
    }

    private final ChipmunkConfig config;
    private ChipmunkState state;
    private int steps;
    private Summary last;

    public ChipmunkKernels(ChipmunkConfig config) {
        this.config = config;
    }

    public ChipmunkConfig config() {
        return config;
    }

    @Override
    public int[] begin(int gridHeight, int gridWidth, int steps, NDManager manager) {
        int[] order = config.patchifyEnabled()
                ? Selection.patchifyOrder(gridHeight, gridWidth, config.patchifyChunkSize1(), config.patchifyChunkSize2())
                : null;
        end();
        state = new ChipmunkState(config, manager);
        this.steps = steps;
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
    public Map<String, Double> end() {
        if (state == null) {
            return Map.of();
        }
        double scale = state.stepsRun() == 0 ? 1 : (double) state.stepsRun() / steps;
        last = new Summary(List.copyOf(state.events()), state.attentionFraction(), state.mlpFraction(),
                state.attentionFraction() * scale, state.mlpFraction() * scale, state.savedFlops(),
                state.peakBytesHeld());
        state.close();
        state = null;
        return last.metrics();
    }

    /** The last finished generation's summary, or null before the first. */
    public Summary lastGeneration() {
        return last;
    }
}
