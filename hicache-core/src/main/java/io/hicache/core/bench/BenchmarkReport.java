package io.hicache.core.bench;

import io.hicache.core.cache.CacheConfig;
import java.util.List;
import java.util.Map;

/**
 * Results of a benchmark. Times are seconds (medians over repeats, averaged over prompts), speedups
 * are relative to the {@code original} run, quality compares each image with the original image of
 * the same seed. {@code transformerGflops} is the original run's executed FLOPs over its denoising
 * time; {@code efficiency} divides it by the machine's GEMM speed measured in the same run.
 */
public record BenchmarkReport(
        String model,
        String device,
        String dtype,
        int steps,
        int width,
        int height,
        List<String> prompts,
        double gemmGflops,
        double transformerGflops,
        double efficiency,
        List<ConfigResult> results) {

    /** One configuration's results. */
    public record ConfigResult(
            CacheConfig config,
            String tag,
            int fullSteps,
            double denoiseSeconds,
            double totalSeconds,
            double wallSpeedup,
            double endToEndSpeedup,
            long flops,
            double flopsSpeedup,
            double wallOverFlopsSpeedup,
            long cachePeakBytes,
            long peakResidentBytes,
            double psnr,
            double ssim,
            double latentRelativeL2,
            double fullStepMillis,
            double forecastStepMillis,
            double forecastOverFullStep,
            Map<String, Double> forecastErrorByModule,
            Map<Integer, Double> forecastErrorByStep,
            List<Sample> samples) {
    }

    /** One (configuration, prompt) measurement. */
    public record Sample(String prompt, long seed, double denoiseSeconds, double totalSeconds, long flops,
            long cachePeakBytes, double psnr, double ssim, double latentRelativeL2) {
    }
}
