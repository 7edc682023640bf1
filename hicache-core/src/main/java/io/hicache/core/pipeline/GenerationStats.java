package io.hicache.core.pipeline;

import io.hicache.core.cache.CacheStats;
import io.hicache.core.metrics.FlopCounter;
import java.util.List;
import java.util.Map;

/**
 * What one generation cost: wall times of its phases (seconds), per-step denoising times, the
 * cache's statistics, the FLOPs executed by kind, and measures particular to the backend (e.g.
 * Chipmunk's executed/dense FLOP fractions and cache bytes; empty for most backends).
 */
public record GenerationStats(
        double totalSeconds,
        double encodeSeconds,
        double denoiseSeconds,
        double decodeSeconds,
        List<Double> stepSeconds,
        CacheStats cache,
        Map<FlopCounter.Kind, Long> flops,
        Map<String, Double> backendMetrics) {

    /** Stats without backend measures. */
    public GenerationStats(double totalSeconds, double encodeSeconds, double denoiseSeconds, double decodeSeconds,
            List<Double> stepSeconds, CacheStats cache, Map<FlopCounter.Kind, Long> flops) {
        this(totalSeconds, encodeSeconds, denoiseSeconds, decodeSeconds, stepSeconds, cache, flops, Map.of());
    }

    public long totalFlops() {
        return flops.values().stream().mapToLong(Long::longValue).sum();
    }
}
