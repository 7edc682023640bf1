package io.hicache.flux;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.diffusion.DenoisingLoop;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.sampling.SeededNoise;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Measures, outside the test suite, wall times of full and forecast steps and the cache memory of a
 * 50-step HiCache run (N = 7, order 2, σ = 0.5) on a mid-size FLUX: 4 double + 8 single blocks,
 * 6 heads × 128 (hidden 768), RoPE axes (16, 56, 56), T5 width 4096, pooled 768, at 512² (1024
 * image tokens) with 128 text tokens, in float32 and bfloat16. Random weights, written once to a
 * temporary directory. Run: {@code java -cp <test classpath> io.hicache.flux.FluxStepBenchmark}.
 */
public final class FluxStepBenchmark {
    private FluxStepBenchmark() {}

    public static void main(String[] args) throws Exception {
        HiCacheRuntime.configureOffline();
        FluxConfig config = new FluxConfig(64, 64, 4, 8, 128, 6, 4096, 768, true, new int[] {16, 56, 56});
        int steps = 50;
        Path dir = Files.createTempDirectory("flux-bench");
        try {
            long t0 = System.nanoTime();
            TinyFlux.write(dir, config, 7, TensorType.F32, false);
            System.out.printf("%s, %d parameters, written in %.1f s%n", config,
                    FluxTransformer.parameterSpec(config).count(), (System.nanoTime() - t0) / 1e9);
            FlowMatchEuler scheduler = FlowMatchEuler.read(dir.resolve("scheduler").resolve("scheduler_config.json"));
            CacheConfig cache = CacheConfig.of(CacheMode.HICACHE);
            for (TensorType dtype : List.of(TensorType.F32, TensorType.BF16)) {
                try (NDManager m = NDManager.newBaseManager();
                        FluxTransformer transformer = FluxTransformer.load(dir, dtype, m)) {
                    FluxDenoiser denoiser = new FluxDenoiser(transformer, scheduler);
                    NDArray prompt = SeededNoise.gaussian(1, new Shape(1, 128, 4096), m);
                    NDArray pooled = SeededNoise.gaussian(2, new Shape(1, 768), m);
                    NDArray noise = SeededNoise.gaussian(3, new Shape(1, 16, 64, 64), m);
                    FluxDenoiser.Result r = denoiser.denoise(
                            new FluxDenoiser.Request(prompt, pooled, noise, 512, 512, steps, 3.5, cache), m);
                    // step 0 carries one-time warm-up (JIT, kernel compilation): left out of the medians
                    double[] full = r.steps().stream().filter(s -> s.full() && s.step() > 0)
                            .mapToDouble(DenoisingLoop.StepRecord::millis).sorted().toArray();
                    double[] forecast = r.steps().stream().filter(s -> !s.full())
                            .mapToDouble(DenoisingLoop.StepRecord::millis).sorted().toArray();
                    double total = r.steps().stream().mapToDouble(DenoisingLoop.StepRecord::millis).sum();
                    System.out.printf("%s: weights %.1f MB; full step median %.1f ms (%d), forecast step median %.2f ms (%d);"
                            + " 50-step total %.1f s; cache held at end %d B (%.2f MB), peak %d B; %s%n",
                            dtype.displayName(), transformer.parameterBytes() / 1e6, median(full), full.length,
                            median(forecast), forecast.length, total / 1e3, r.cache().bytesHeld(),
                            r.cache().bytesHeld() / 1e6, r.cache().peakBytesHeld(), r.cache());
                    System.out.println("  per-step ms: " + r.steps().stream()
                            .map(s -> String.format("%s%.0f", s.full() ? "F" : "f", s.millis()))
                            .collect(Collectors.joining(" ")));
                }
            }
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static double median(double[] sorted) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }
}
