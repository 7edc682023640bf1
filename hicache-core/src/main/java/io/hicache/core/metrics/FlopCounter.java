package io.hicache.core.metrics;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Theoretical FLOPs of the work a model actually executed, by kind (matrix products count
 * 2·M·N·K; softmax, norms and element-wise ops are not counted, ≈1–2 % of a DiT).
 */
public final class FlopCounter {
    /** What the FLOPs were spent on. */
    public enum Kind {
        /** Q/K/V and output projections. */
        ATTENTION_PROJECTIONS,
        /** Q·Kᵀ and P·V. */
        ATTENTION_SCORES,
        MLP,
        /** Input, time/guidance/text embeddings, modulation linears, output head. */
        EMBEDDINGS,
        /** Text encoders. */
        TEXT_ENCODERS,
        /** VAE decode/encode (convolutions). */
        VAE
    }

    private final Map<Kind, LongAdder> flops = new EnumMap<>(Kind.class);

    public FlopCounter() {
        for (Kind k : Kind.values()) {
            flops.put(k, new LongAdder());
        }
    }

    public void add(Kind kind, long n) {
        flops.get(kind).add(n);
    }

    /** A linear layer on {@code tokens} rows: 2·tokens·in·out. */
    public void linear(Kind kind, long tokens, long in, long out) {
        add(kind, 2 * tokens * in * out);
    }

    public long get(Kind kind) {
        return flops.get(kind).sum();
    }

    public long total() {
        return flops.values().stream().mapToLong(LongAdder::sum).sum();
    }

    public Map<Kind, Long> snapshot() {
        Map<Kind, Long> m = new EnumMap<>(Kind.class);
        flops.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    public void reset() {
        flops.values().forEach(LongAdder::reset);
    }
}
