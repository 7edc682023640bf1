package io.hicache.qwen.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.diffusion.DenoisingLoop;
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
 * 20-step HiCache run (N = 7, order 2) under true CFG on a mid-size Qwen-Image: 4 blocks, 6 heads × 128
 * (hidden 768), RoPE axes (16, 56, 56), text width 3584, at 512² (1024 image tokens) with 64 prompt and
 * 6 negative-prompt tokens, in float32 and bfloat16. Random weights, written once to a temporary
 * directory. Run: {@code java -cp <test classpath> io.hicache.qwen.transformer.QwenStepBenchmark}.
 */
public final class QwenStepBenchmark {
    private QwenStepBenchmark() {}

    public static void main(String[] args) throws Exception {
        HiCacheRuntime.configureOffline();
        QwenImageConfig config = new QwenImageConfig(64, 16, 4, 128, 6, 3584, new int[] {16, 56, 56});
        int steps = 20;
        Path dir = Files.createTempDirectory("qwen-bench");
        try {
            long t0 = System.nanoTime();
            TinyQwenImage.write(dir, config, 7, TensorType.F32, 2);
            System.out.printf("%s, %d parameters, written in %.1f s; analytic FLOPs per CFG step %.1f G%n", config,
                    QwenImageTransformer.parameterSpec(config).count(), (System.nanoTime() - t0) / 1e9,
                    (QwenImageTransformer.flopsPerForward(config, 1024, 64).total()
                            + QwenImageTransformer.flopsPerForward(config, 1024, 6).total()) / 1e9);
            FlowMatchEuler scheduler = FlowMatchEuler.read(dir.resolve("scheduler").resolve("scheduler_config.json"));
            CacheConfig cache = CacheConfig.of(CacheMode.HICACHE);
            for (TensorType dtype : List.of(TensorType.F32, TensorType.BF16)) {
                try (NDManager m = NDManager.newBaseManager();
                        QwenImageTransformer transformer = QwenImageTransformer.load(dir, dtype, m)) {
                    QwenImageDenoiser denoiser = new QwenImageDenoiser(transformer, scheduler);
                    NDArray prompt = SeededNoise.gaussian(1, new Shape(1, 64, 3584), m);
                    NDArray negative = SeededNoise.gaussian(2, new Shape(1, 6, 3584), m);
                    NDArray noise = SeededNoise.gaussian(3, new Shape(1, 16, 64, 64), m);
                    QwenImageDenoiser.Result r = denoiser.denoise(new QwenImageDenoiser.Request(
                            new QwenImageDenoiser.Prompt(prompt), noise, 512, 512, steps, cache, false,
                            new QwenImageDenoiser.Prompt(negative), 4.0), m);
                    // step 0 carries one-time warm-up: left out of the medians
                    double[] full = r.steps().stream().filter(s -> s.full() && s.step() > 0)
                            .mapToDouble(DenoisingLoop.StepRecord::millis).sorted().toArray();
                    double[] forecast = r.steps().stream().filter(s -> !s.full())
                            .mapToDouble(DenoisingLoop.StepRecord::millis).sorted().toArray();
                    double total = r.steps().stream().mapToDouble(DenoisingLoop.StepRecord::millis).sum();
                    System.out.printf("%s: weights %.1f MB; CFG step: full median %.1f ms (%d), forecast median %.2f ms"
                            + " (%d); %d-step total %.1f s; cache (both branches) held at end %d B (%.2f MB), peak %d B%n",
                            dtype.displayName(), transformer.parameterBytes() / 1e6, median(full), full.length,
                            median(forecast), forecast.length, steps, total / 1e3, r.cache().bytesHeld(),
                            r.cache().bytesHeld() / 1e6, r.cache().peakBytesHeld());
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
