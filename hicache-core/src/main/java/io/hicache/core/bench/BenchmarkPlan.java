package io.hicache.core.bench;

import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@link BenchmarkRunner} measures: every configuration on the same prompts and seeds (seed
 * of prompt i is {@code seed + i}), with the uncached {@code original} run as the reference.
 *
 * @param warmup untimed generations before measuring (JIT, kernel compilation, allocator)
 * @param repeats timed generations per (configuration, prompt); the median is reported
 * @param siteErrors also run each cached configuration once with forecast-error measurement
 * @param gemmTokens rows of the GEMM used as the machine's speed yardstick
 * @param gemmDim inner and output size of that GEMM
 */
public record BenchmarkPlan(List<String> prompts, long seed, int steps, int width, int height, double guidance,
        List<CacheConfig> configs, int warmup, int repeats, boolean siteErrors, int gemmTokens, int gemmDim) {
    public BenchmarkPlan {
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("a benchmark needs at least one prompt");
        }
        if (warmup < 0 || repeats < 1) {
            throw new IllegalArgumentException("warmup must be >= 0 and repeats >= 1");
        }
        List<CacheConfig> withReference = new ArrayList<>();
        withReference.add(CacheConfig.of(CacheMode.ORIGINAL));
        for (CacheConfig c : configs) {
            if (c.mode() != CacheMode.ORIGINAL && !withReference.contains(c)) {
                withReference.add(c);
            }
        }
        configs = List.copyOf(withReference);
        prompts = List.copyOf(prompts);
    }
}
