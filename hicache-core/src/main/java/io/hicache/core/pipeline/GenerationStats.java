package io.hicache.core.pipeline;

import io.hicache.core.cache.CacheStats;
import io.hicache.core.metrics.FlopCounter;
import java.util.List;
import java.util.Map;

/**
 * What one generation cost: wall times of its phases (seconds), per-step denoising times, the
 * cache's statistics and the FLOPs executed by kind.
 */
public record GenerationStats(
        double totalSeconds,
        double encodeSeconds,
        double denoiseSeconds,
        double decodeSeconds,
        List<Double> stepSeconds,
        CacheStats cache,
        Map<FlopCounter.Kind, Long> flops) {

    public long totalFlops() {
        return flops.values().stream().mapToLong(Long::longValue).sum();
    }
}
