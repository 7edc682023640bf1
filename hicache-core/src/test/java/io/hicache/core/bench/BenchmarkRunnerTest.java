package io.hicache.core.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.cache.CacheStats;
import io.hicache.core.image.RgbImage;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.GenerationResult;
import io.hicache.core.pipeline.GenerationStats;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.shapes.ShapeAttributes;
import io.hicache.core.shapes.ShapePrompt;
import io.hicache.core.shapes.ShapeScene;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BenchmarkRunnerTest {
    /**
     * A pipeline whose costs are known exactly: a full step takes 10 ms and 1000 FLOPs, a forecast
     * step 1 ms and none; images and latents differ from the reference by an amount that grows with
     * the interval.
     */
    static class ScriptedPipeline implements ImagePipeline {
        int encodes;
        final List<GenerationRequest> requests = new ArrayList<>();

        /** How much slower than nominal this request runs (1: the nominal times). */
        double slowdown(GenerationRequest r) {
            return 1;
        }

        @Override
        public GenerationResult generate(GenerationRequest r) {
            requests.add(r);
            double slow = slowdown(r);
            int full = r.cache().schedule().fullSteps(r.steps()).size();
            List<Double> steps = new ArrayList<>();
            for (int s = 0; s < r.steps(); s++) {
                steps.add(slow * (r.cache().schedule().isFull(s) ? 0.010 : 0.001));
            }
            double denoise = steps.stream().mapToDouble(Double::doubleValue).sum();
            int error = r.cache().mode() == CacheMode.ORIGINAL ? 0 : r.cache().interval();
            byte[] rgb = new byte[r.width() * r.height() * 3];
            for (int i = 0; i < rgb.length; i++) {
                rgb[i] = (byte) (100 + (r.seed() % 7) + (i % 2 == 0 ? error : 0));
            }
            float[] latents = {1f + error * 0.01f, 2f, 3f, 4f};
            Map<FlopCounter.Kind, Long> flops = Map.of(FlopCounter.Kind.MLP, 1000L * full);
            Map<String, Double> byModule = r.measureForecastError() ? Map.of("img_mlp", 0.1 * error) : Map.of();
            Map<Integer, Double> byStep = r.measureForecastError() ? Map.of(3, 0.2 * error) : Map.of();
            CacheStats cache = new CacheStats(r.steps(), full, r.steps() - full, 0, 0, 0, 1234L * error, byModule, byStep);
            return new GenerationResult(RgbImage.of(r.width(), r.height(), rgb).toBufferedImage(),
                    new HostTensor(new long[] {1, 1, 2, 2}, latents),
                    new GenerationStats(denoise + 0.5, 0, denoise, 0.5, steps, cache, flops));
        }

        @Override
        public TextEmbeddings encode(String prompt) {
            encodes++;
            return new TextEmbeddings(new HostTensor(new long[] {1, 1, 1}, new float[] {prompt.length()}), null);
        }

        @Override
        public String describe() {
            return "scripted";
        }

        @Override
        public long parameterBytes() {
            return 0;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void comparesEveryConfigurationWithTheOriginalRun() throws Exception {
        ScriptedPipeline pipeline = new ScriptedPipeline();
        CacheConfig hicache = CacheConfig.defaults().withInterval(5);
        BenchmarkPlan plan = new BenchmarkPlan(List.of("a cat", "a dog"), 10, 50, 16, 16, 3.5, List.of(hicache),
                1, 2, true, 64, 64);
        BenchmarkRunner.Outcome out = new BenchmarkRunner(pipeline, s -> { }).run(plan, "m", "cpu", "float32", 100.0);
        BenchmarkReport r = out.report();
        assertEquals(2, pipeline.encodes, "each prompt encoded once");
        // warm-up 1 + 2 configs × 2 prompts × 2 repeats + 2 error-measuring runs
        assertEquals(1 + 8 + 2, pipeline.requests.size());
        assertTrue(pipeline.requests.stream().allMatch(q -> q.embeddings() != null), "embeddings reused");

        BenchmarkReport.ConfigResult original = r.results().get(0);
        BenchmarkReport.ConfigResult cached = r.results().get(1);
        assertEquals(CacheMode.ORIGINAL, original.config().mode());
        assertEquals(1.0, original.wallSpeedup(), 0);
        assertEquals(Double.POSITIVE_INFINITY, original.psnr());
        assertEquals(1.0, original.ssim(), 1e-12);
        assertEquals(0.0, original.latentRelativeL2(), 0);

        // interval 5, fe 3, 50 steps: 12 full steps
        assertEquals(12, cached.fullSteps());
        assertEquals(50 * 0.010, original.denoiseSeconds(), 1e-12);
        assertEquals(12 * 0.010 + 38 * 0.001, cached.denoiseSeconds(), 1e-12);
        assertEquals(0.5 / (0.12 + 0.038), cached.wallSpeedup(), 1e-9);
        assertEquals((0.5 + 0.5) / (0.158 + 0.5), cached.endToEndSpeedup(), 1e-9);
        assertEquals(50.0 / 12, cached.flopsSpeedup(), 1e-12);
        assertEquals(cached.wallSpeedup() / cached.flopsSpeedup(), cached.wallOverFlopsSpeedup(), 1e-12);
        assertEquals(10.0, cached.fullStepMillis(), 1e-9);
        assertEquals(1.0, cached.forecastStepMillis(), 1e-9);
        assertEquals(0.1, cached.forecastOverFullStep(), 1e-9);
        assertEquals(1234L * 5, cached.cachePeakBytes());
        // every even byte is off by 5: MSE = 25/2 per channel → PSNR = 20·log10(255/√12.5)
        assertEquals(20 * Math.log10(255 / Math.sqrt(12.5)), cached.psnr(), 1e-9);
        assertTrue(cached.ssim() < 1);
        assertEquals(0.05 / Math.sqrt(1 + 4 + 9 + 16), cached.latentRelativeL2(), 1e-6);
        assertEquals(0.5, cached.forecastErrorByModule().get("img_mlp"), 1e-12);
        assertEquals(1.0, cached.forecastErrorByStep().get(3), 1e-12);
        assertTrue(original.forecastErrorByModule().isEmpty(), "the reference forecasts nothing");

        assertEquals(50_000.0 / 0.5 / 1e9, r.transformerGflops(), 1e-12);
        assertEquals(r.transformerGflops() / 100.0, r.efficiency(), 1e-15);
        assertEquals(2, out.images().get(hicache.tag()).size());
    }

    /**
     * Configurations run interleaved, round by round; a machine that gets slower from round to round
     * (here: round r runs r + 1 times slower) slows every configuration of the round alike, so each
     * round's ratio is the true one and the spread is nil.
     */
    @Test
    void configurationsAreInterleavedSoADriftingMachineCancelsOut() throws Exception {
        ScriptedPipeline drifting = new ScriptedPipeline() {
            int originals;

            @Override
            double slowdown(GenerationRequest r) {
                if (r.cache().mode() == CacheMode.ORIGINAL) {
                    originals++;
                }
                return (originals + 1) / 2; // 2 prompts per round, and each round starts with original
            }
        };
        CacheConfig taylor = CacheConfig.of(CacheMode.TAYLOR).withInterval(5);
        CacheConfig hicache = CacheConfig.defaults().withInterval(5);
        BenchmarkPlan plan = new BenchmarkPlan(List.of("a cat", "a dog"), 10, 50, 16, 16, 3.5, List.of(taylor, hicache),
                0, 3, false, 64, 64);
        BenchmarkReport r = new BenchmarkRunner(drifting, s -> { }).run(plan, "m", "cpu", "float32", 100.0).report();
        List<String> order = drifting.requests.stream().map(q -> q.cache().tag() + "/" + q.prompt()).toList();
        List<String> round = List.of("original/a cat", "original/a dog", taylor.tag() + "/a cat", taylor.tag() + "/a dog",
                hicache.tag() + "/a cat", hicache.tag() + "/a dog");
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            expected.addAll(round);
        }
        assertEquals(expected, order);
        double exact = 0.5 / (12 * 0.010 + 38 * 0.001);
        for (BenchmarkReport.ConfigResult c : r.results().subList(1, 3)) {
            assertEquals(3, c.rounds());
            assertEquals(exact, c.wallSpeedup(), 1e-9, c.tag());
            assertEquals(exact, c.wallSpeedupMin(), 1e-9, c.tag());
            assertEquals(exact, c.wallSpeedupMax(), 1e-9, c.tag());
        }
        // the medians of the times themselves carry the drift: round 2 of 3 runs twice as slow
        assertEquals(2 * 50 * 0.010, r.results().get(0).denoiseSeconds(), 1e-12);
        assertTrue(Double.isNaN(r.gemmDrift()), "no yardstick after the run yet");
        assertEquals(-0.1, r.withGemmAfter(90.0).gemmDrift(), 1e-12);
    }

    /**
     * Shapes prompts are scored per configuration on the very images compared with the original:
     * here original draws each prompt's scene and the cached configuration only its background.
     */
    @Test
    void shapesPromptsGetFaithfulnessPerConfiguration() throws Exception {
        ScriptedPipeline drawing = new ScriptedPipeline() {
            @Override
            public GenerationResult generate(GenerationRequest r) {
                GenerationResult g = super.generate(r);
                ShapePrompt p = ShapePrompt.parse(r.prompt()).orElseThrow();
                ShapeAttributes a = new ShapeAttributes(p.size(), p.colour(), p.shape(), p.position(), p.background());
                RgbImage image = r.cache().mode() == CacheMode.ORIGINAL ? ShapeScene.nominal(a).render()
                        : RgbImage.filled(128, 128, a.background().red(), a.background().green(), a.background().blue());
                return new GenerationResult(image.toBufferedImage(), g.latents(), g.stats());
            }
        };
        CacheConfig hicache = CacheConfig.defaults().withInterval(5);
        List<String> prompts = List.of("a large red star in the top left corner on a blue background",
                "a small green circle at the bottom on a white background");
        BenchmarkPlan plan = new BenchmarkPlan(prompts, 0, 10, 128, 128, 3.5, List.of(hicache), 0, 1, false, 8, 8);
        BenchmarkReport r = new BenchmarkRunner(drawing, s -> { }).run(plan, "m", "cpu", "float32", 100.0).report();
        assertEquals(null, r.faithfulnessUnscored());
        PromptFaithfulness.Score original = r.results().get(0).faithfulness();
        assertEquals(1.0, original.overall(), 0);
        assertEquals(1.0, original.allCorrect(), 0);
        assertEquals(2, original.images());
        // a blank image has no object: every named attribute fails, the background too
        PromptFaithfulness.Score cached = r.results().get(1).faithfulness();
        assertEquals(Map.of("size", 0.0, "colour", 0.0, "shape", 0.0, "position", 0.0, "background", 0.0),
                cached.perAttribute());
        assertEquals(0.0, cached.allCorrect(), 0);

        BenchmarkPlan cats = new BenchmarkPlan(List.of("a cat"), 0, 10, 128, 128, 3.5, List.of(hicache), 0, 1, false, 8, 8);
        BenchmarkReport unscored = new BenchmarkRunner(new ScriptedPipeline(), s -> { })
                .run(cats, "m", "cpu", "float32", 100.0).report();
        assertEquals("prompts do not follow the Shapes grammar (e.g. 'a cat')", unscored.faithfulnessUnscored());
        assertTrue(unscored.results().stream().allMatch(c -> c.faithfulness() == null));
    }

    @Test
    void theReferenceIsAddedOnceAndFirst() {
        BenchmarkPlan plan = new BenchmarkPlan(List.of("x"), 0, 10, 16, 16, 3.5,
                List.of(CacheConfig.defaults(), CacheConfig.of(CacheMode.ORIGINAL), CacheConfig.defaults()), 0, 1,
                false, 8, 8);
        assertEquals(2, plan.configs().size());
        assertEquals(CacheMode.ORIGINAL, plan.configs().get(0).mode());
    }

    @Test
    void medianOfRepeats() {
        assertEquals(2.0, BenchmarkRunner.median(new double[] {3, 1, 2}), 0);
        assertEquals(2.5, BenchmarkRunner.median(new double[] {4, 1, 2, 3}), 0);
    }

    @Test
    void machineGemmSpeedIsPositiveAndPlausible() {
        double g = MachineGemm.gflops(ai.djl.Device.cpu(), io.hicache.core.runtime.TensorType.F32, 256, 256, 3);
        assertTrue(g > 0.1 && g < 1e5, "GFLOP/s " + g);
        assertTrue(ResidentMemory.current() > 0, "RSS readable on Linux");
    }
}
