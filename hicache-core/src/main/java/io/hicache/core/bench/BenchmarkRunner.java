package io.hicache.core.bench;

import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.image.RgbImage;
import io.hicache.core.metrics.Psnr;
import io.hicache.core.metrics.RelativeError;
import io.hicache.core.metrics.Ssim;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.GenerationResult;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.TextEmbeddings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Runs a {@link BenchmarkPlan} on one loaded pipeline: the same prompts and seeds under every
 * configuration, timing the denoising loop and the whole generation, counting FLOPs and cache
 * memory, and comparing each result with the {@code original} one and, for Shapes prompts, with its
 * prompt ({@link PromptFaithfulness}). Prompts are encoded once and the embeddings reused, so timings
 * compare only what the cache changes.
 */
public final class BenchmarkRunner {
    private static final int WARMUP_STEPS = 3;
    private final ImagePipeline pipeline;
    private final Consumer<String> log;

    public BenchmarkRunner(ImagePipeline pipeline, Consumer<String> log) {
        this.pipeline = pipeline;
        this.log = log;
    }

    /** The report and, per configuration tag, the images in prompt order (for comparison grids). */
    public record Outcome(BenchmarkReport report, Map<String, List<RgbImage>> images) {
    }

    public Outcome run(BenchmarkPlan plan, String model, String device, String dtype, double gemmGflops)
            throws Exception {
        List<TextEmbeddings> embeddings = new ArrayList<>();
        for (String p : plan.prompts()) {
            embeddings.add(pipeline.encode(p));
        }
        for (int i = 0; i < plan.warmup(); i++) {
            // a few steps reach every code path (JIT, kernels, allocator) without a whole generation
            log.accept("warm-up " + (i + 1) + "/" + plan.warmup());
            pipeline.generate(request(plan, 0, embeddings.get(0), plan.configs().get(0), false)
                    .withSteps(Math.min(plan.steps(), WARMUP_STEPS)));
        }
        // configurations are interleaved round by round (original, A, B, original, A, B, ...), so a
        // machine whose speed drifts slows every configuration alike, and each round gives one ratio
        int configs = plan.configs().size();
        int prompts = plan.prompts().size();
        double[][][] denoise = new double[configs][prompts][plan.repeats()];
        double[][][] total = new double[configs][prompts][plan.repeats()];
        GenerationResult[][] kept = new GenerationResult[configs][prompts];
        double[][] fullMs = new double[configs][2];
        double[][] forecastMs = new double[configs][2];
        long[] peakRss = new long[configs];
        for (int r = 0; r < plan.repeats(); r++) {
            for (int c = 0; c < configs; c++) {
                CacheConfig config = plan.configs().get(c);
                log.accept("measuring " + config.tag() + (plan.repeats() > 1 ? " (round " + (r + 1) + "/"
                        + plan.repeats() + ")" : ""));
                for (int p = 0; p < prompts; p++) {
                    GenerationResult g;
                    try (ResidentMemory rss = ResidentMemory.sample(20)) {
                        g = pipeline.generate(request(plan, p, embeddings.get(p), config, false));
                        peakRss[c] = Math.max(peakRss[c], rss.peak());
                    }
                    denoise[c][p][r] = g.stats().denoiseSeconds();
                    total[c][p][r] = g.stats().totalSeconds();
                    accumulateStepTimes(g, config, fullMs[c], forecastMs[c]);
                    kept[c][p] = kept[c][p] == null ? g : kept[c][p];
                }
            }
        }
        List<BenchmarkReport.ConfigResult> results = new ArrayList<>();
        Map<String, List<RgbImage>> images = new LinkedHashMap<>();
        Optional<String> unscored = PromptFaithfulness.unscorable(plan.prompts(), plan.width(), plan.height());
        for (int c = 0; c < configs; c++) {
            CacheConfig config = plan.configs().get(c);
            List<BenchmarkReport.Sample> samples = new ArrayList<>();
            List<RgbImage> configImages = new ArrayList<>();
            for (int p = 0; p < prompts; p++) {
                GenerationResult g = kept[c][p];
                GenerationResult ref = kept[0][p];
                RgbImage image = g.image() == null ? null : RgbImage.fromBufferedImage(g.image());
                RgbImage refImage = ref.image() == null ? null : RgbImage.fromBufferedImage(ref.image());
                configImages.add(image);
                samples.add(new BenchmarkReport.Sample(plan.prompts().get(p), plan.seed() + p, median(denoise[c][p]),
                        median(total[c][p]), g.stats().totalFlops(), g.stats().cache().peakBytesHeld(),
                        image == null ? Double.NaN : Psnr.of(image, refImage),
                        image == null ? Double.NaN : Ssim.of(image, refImage),
                        RelativeError.l2(g.latents().data(), ref.latents().data())));
            }
            Map<String, Double> byModule = new TreeMap<>();
            Map<Integer, Double> byStep = new TreeMap<>();
            if (plan.siteErrors() && config.mode().caches()) {
                measureForecastErrors(plan, embeddings, config, byModule, byStep);
            }
            images.put(config.tag(), configImages);
            PromptFaithfulness.Score faithfulness = unscored.isEmpty()
                    ? PromptFaithfulness.score(plan.prompts(), configImages) : null;
            results.add(summarise(plan, config, samples, results.isEmpty() ? null : results.get(0), peakRss[c],
                    fullMs[c], forecastMs[c], roundRatios(denoise[0], denoise[c]), byModule, byStep, faithfulness));
        }
        BenchmarkReport.ConfigResult original = results.get(0);
        double transformerGflops = original.flops() / original.denoiseSeconds() / 1e9;
        BenchmarkReport report = new BenchmarkReport(model, device, dtype, plan.steps(), plan.width(), plan.height(),
                plan.prompts(), gemmGflops, Double.NaN, transformerGflops, transformerGflops / gemmGflops,
                List.copyOf(results), unscored.orElse(null));
        return new Outcome(report, images);
    }

    private static GenerationRequest request(BenchmarkPlan plan, int p, TextEmbeddings e, CacheConfig c,
            boolean measure) {
        return new GenerationRequest(plan.prompts().get(p), null, plan.seed() + p, plan.steps(), plan.width(),
                plan.height(), plan.guidance(), c, e, null, true, measure);
    }

    private static void accumulateStepTimes(GenerationResult g, CacheConfig c, double[] full, double[] forecast) {
        List<Double> steps = g.stats().stepSeconds();
        for (int s = 0; s < steps.size(); s++) {
            double[] target = c.schedule().isFull(s) ? full : forecast;
            target[0] += steps.get(s) * 1000;
            target[1]++;
        }
    }

    private void measureForecastErrors(BenchmarkPlan plan, List<TextEmbeddings> embeddings, CacheConfig config,
            Map<String, Double> byModule, Map<Integer, Double> byStep) throws Exception {
        Map<String, double[]> m = new TreeMap<>();
        Map<Integer, double[]> s = new TreeMap<>();
        for (int p = 0; p < plan.prompts().size(); p++) {
            GenerationResult g = pipeline.generate(request(plan, p, embeddings.get(p), config, true));
            g.stats().cache().meanForecastErrorByModule().forEach((k, v) -> add(m, k, v));
            g.stats().cache().meanForecastErrorByStep().forEach((k, v) -> add(s, k, v));
        }
        m.forEach((k, v) -> byModule.put(k, v[0] / v[1]));
        s.forEach((k, v) -> byStep.put(k, v[0] / v[1]));
    }

    private static <K> void add(Map<K, double[]> m, K k, double v) {
        double[] a = m.computeIfAbsent(k, x -> new double[2]);
        a[0] += v;
        a[1]++;
    }

    /** Per round: original's denoising time over this configuration's, summed over the prompts. */
    private static double[] roundRatios(double[][] original, double[][] config) {
        double[] ratios = new double[original[0].length];
        for (int r = 0; r < ratios.length; r++) {
            double o = 0;
            double c = 0;
            for (int p = 0; p < original.length; p++) {
                o += original[p][r];
                c += config[p][r];
            }
            ratios[r] = o / c;
        }
        return ratios;
    }

    private static BenchmarkReport.ConfigResult summarise(BenchmarkPlan plan, CacheConfig c,
            List<BenchmarkReport.Sample> samples, BenchmarkReport.ConfigResult original, long peakRss,
            double[] fullMs, double[] forecastMs, double[] wallRatios, Map<String, Double> byModule,
            Map<Integer, Double> byStep, PromptFaithfulness.Score faithfulness) {
        double denoise = mean(samples, BenchmarkReport.Sample::denoiseSeconds);
        double total = mean(samples, BenchmarkReport.Sample::totalSeconds);
        long flops = Math.round(mean(samples, s -> (double) s.flops()));
        double wall = original == null ? 1 : median(wallRatios);
        double wallMin = original == null ? 1 : java.util.Arrays.stream(wallRatios).min().orElse(Double.NaN);
        double wallMax = original == null ? 1 : java.util.Arrays.stream(wallRatios).max().orElse(Double.NaN);
        double endToEnd = original == null ? 1 : original.totalSeconds() / total;
        double flopsSpeedup = original == null ? 1 : (double) original.flops() / flops;
        double fullStep = fullMs[1] == 0 ? Double.NaN : fullMs[0] / fullMs[1];
        double forecastStep = forecastMs[1] == 0 ? Double.NaN : forecastMs[0] / forecastMs[1];
        return new BenchmarkReport.ConfigResult(c, c.tag(), c.schedule().fullSteps(plan.steps()).size(), denoise,
                total, wall, wallMin, wallMax, wallRatios.length, endToEnd, flops, flopsSpeedup, wall / flopsSpeedup,
                samples.stream().mapToLong(BenchmarkReport.Sample::cachePeakBytes).max().orElse(0), peakRss,
                finiteMean(samples, BenchmarkReport.Sample::psnr), mean(samples, BenchmarkReport.Sample::ssim),
                mean(samples, BenchmarkReport.Sample::latentRelativeL2), fullStep, forecastStep,
                forecastStep / fullStep, byModule, byStep, faithfulness, List.copyOf(samples));
    }

    private static double mean(List<BenchmarkReport.Sample> s, java.util.function.ToDoubleFunction<BenchmarkReport.Sample> f) {
        return s.stream().mapToDouble(f).average().orElse(Double.NaN);
    }

    /** PSNR is +∞ for identical images: average the finite ones, +∞ when all are identical. */
    private static double finiteMean(List<BenchmarkReport.Sample> s,
            java.util.function.ToDoubleFunction<BenchmarkReport.Sample> f) {
        double[] v = s.stream().mapToDouble(f).filter(Double::isFinite).toArray();
        if (v.length == 0) {
            return s.stream().mapToDouble(f).anyMatch(x -> x == Double.POSITIVE_INFINITY)
                    ? Double.POSITIVE_INFINITY : Double.NaN;
        }
        return Arrays.stream(v).average().orElse(Double.NaN);
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
