package io.hicache.core.bench;

import io.hicache.core.cache.CacheConfig;
import java.util.List;
import java.util.Map;

/**
 * Results of a benchmark. Times are seconds (medians over repeats, averaged over prompts), speedups
 * are relative to the {@code original} run, quality compares each image with the original image of
 * the same seed. Configurations run interleaved, round by round; the wall-clock speedup is the median
 * of the rounds' ratios, with their smallest and largest as the spread. {@code transformerGflops} is
 * the original run's executed FLOPs over its denoising time; {@code efficiency} divides it by the
 * machine's GEMM speed measured before the run ({@code gemmGflops}); {@code gemmGflopsAfter} is the
 * same yardstick measured after it (NaN when not measured), so a run whose machine speed drifted
 * says so. Faithfulness to the prompts ({@link PromptFaithfulness}) is scored for every configuration
 * or for none: {@code faithfulnessUnscored} says why not, and is null when it is scored.
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
        double gemmGflopsAfter,
        double transformerGflops,
        double efficiency,
        List<ConfigResult> results,
        String faithfulnessUnscored) {

    /** One configuration's results; {@code faithfulness} is null when the run is not scored. */
    public record ConfigResult(
            CacheConfig config,
            String tag,
            int fullSteps,
            double denoiseSeconds,
            double totalSeconds,
            double wallSpeedup,
            double wallSpeedupMin,
            double wallSpeedupMax,
            int rounds,
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
            PromptFaithfulness.Score faithfulness,
            List<Sample> samples) {
    }

    /** The change of the machine's GEMM speed over the run, e.g. −0.1 for 10 % slower at the end. */
    public double gemmDrift() {
        return gemmGflopsAfter / gemmGflops - 1;
    }

    /** This report with the GEMM yardstick measured after the run. */
    public BenchmarkReport withGemmAfter(double gflops) {
        return new BenchmarkReport(model, device, dtype, steps, width, height, prompts, gemmGflops, gflops,
                transformerGflops, efficiency, results, faithfulnessUnscored);
    }

    /** One (configuration, prompt) measurement. */
    public record Sample(String prompt, long seed, double denoiseSeconds, double totalSeconds, long flops,
            long cachePeakBytes, double psnr, double ssim, double latentRelativeL2) {
    }
}
