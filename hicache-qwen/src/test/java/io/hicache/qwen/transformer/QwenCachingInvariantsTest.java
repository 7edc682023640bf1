package io.hicache.qwen.transformer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.cache.CacheSession;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.diffusion.DenoisingLoop;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.metrics.FlopCounter.Kind;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.LatentPacking;
import io.hicache.core.testing.TensorAssert;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cache integration's invariants on the tiny model (2 blocks, 7 × 9 packed tokens) under true
 * CFG: cond with 7 text tokens, uncond with 3, each branch with its own sites and one step schedule.
 */
class QwenCachingInvariantsTest {
    @TempDir
    static Path dir;

    static TinyQwen model;

    @BeforeAll
    static void load() throws IOException {
        model = new TinyQwen(TinyQwen.write(dir), TensorType.F32);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void originalModeIsBitIdenticalToNoCache() {
        QwenImageDenoiser.Result none = model.run(6, null, true, 4);
        QwenImageDenoiser.Result original = model.run(6, CacheConfig.of(CacheMode.ORIGINAL), true, 4);
        TensorAssert.assertBitEqual(none.latents(), original.latents(), "original vs no cache");
        assertEquals(List.of(SiteKey.COND, SiteKey.UNCOND), original.branches());
        assertEquals(6, original.cache().fullSteps());
        assertEquals(0, original.cache().peakBytesHeld(), "original mode allocates no cache");
        assertEquals(none.flops(), original.flops());
    }

    @Test
    void intervalOneIsBitIdenticalToOriginal() {
        QwenImageDenoiser.Result original = model.run(6, null, true, 4);
        for (CacheMode mode : List.of(CacheMode.HICACHE, CacheMode.TAYLOR, CacheMode.FORA)) {
            QwenImageDenoiser.Result cached = model.run(6, CacheConfig.of(mode).withInterval(1), true, 4);
            TensorAssert.assertBitEqual(original.latents(), cached.latents(), mode + " with interval 1");
            assertEquals(6, cached.cache().fullSteps());
            assertTrue(cached.cache().bytesHeld() > 0, "sites are recorded");
        }
    }

    @Test
    void forecastingChangesTheResultOnlyALittle() {
        NDArray full = model.run(12, null, true, 4).latents();
        QwenImageDenoiser.Result cached = model.run(12, CacheConfig.of(CacheMode.HICACHE).withInterval(3), true, 4);
        double rel = TensorAssert.maxRelDiff(full, cached.latents());
        assertTrue(rel > 0, "forecast steps must change something");
        assertTrue(rel < 0.2, "HiCache N=3 stays near the full result, max rel diff " + rel);
    }

    /** Steps 0..9 with interval 3, first_enhance 3: full at 0, 1, 2, 5, 8; both branches every step. */
    @Test
    void forecastStepsRunNoAttentionNorMlpInEitherBranch() {
        QwenImageConfig c = model.transformer.config();
        int blocks = c.numLayers();
        Kernels k = Kernels.on(model.manager.getDevice());
        FlopCounter analyticCond = QwenImageTransformer.flopsPerForward(c, TinyQwen.IMAGE_TOKENS, TinyQwen.TEXT_TOKENS);
        FlopCounter analyticNeg = QwenImageTransformer.flopsPerForward(c, TinyQwen.IMAGE_TOKENS, TinyQwen.NEGATIVE_TOKENS);
        FlopCounter forecastCond = QwenImageTransformer.flopsPerForecast(c, TinyQwen.IMAGE_TOKENS, TinyQwen.TEXT_TOKENS);
        FlopCounter forecastNeg = QwenImageTransformer.flopsPerForecast(c, TinyQwen.IMAGE_TOKENS,
                TinyQwen.NEGATIVE_TOKENS);
        CacheConfig config = CacheConfig.of(CacheMode.HICACHE).withInterval(3);
        try (NDManager m = model.manager.newSubManager();
                CacheSession session = CacheSession.open(config, 10, m)) {
            List<MsRope.Grid> grid = List.of(MsRope.Grid.of(TinyQwen.ROWS, TinyQwen.COLS));
            RotaryEmbedding condRope = model.transformer.rotaryEmbedding(TinyQwen.TEXT_TOKENS, grid, m);
            RotaryEmbedding negRope = model.transformer.rotaryEmbedding(TinyQwen.NEGATIVE_TOKENS, grid, m);
            NDArray x = LatentPacking.pack(model.noise());
            for (int step = 0; step < 10; step++) {
                session.beginStep(step);
                boolean full = session.isFullStep();
                assertEquals(List.of(0, 1, 2, 5, 8).contains(step), full, "schedule at step " + step);
                for (String branch : List.of(SiteKey.COND, SiteKey.UNCOND)) {
                    boolean cond = branch.equals(SiteKey.COND);
                    long sdpa = k.calls("sdpa") + k.calls("sdpa_mask");
                    long gelu = k.calls("gelu_tanh");
                    long rms = k.calls("rms_norm");
                    long rope = k.calls("rope_interleaved");
                    long modulate = k.calls("modulate");
                    long fullSites = session.stats().fullSiteEvaluations();
                    long forecastSites = session.stats().forecastSiteEvaluations();
                    FlopCounter flops = new FlopCounter();
                    try (NDManager s = m.newSubManager()) {
                        s.tempAttachAll(x);
                        model.transformer.forward(x, cond ? model.promptEmbeds() : model.negativeEmbeds(), null,
                                new float[] {1f - step / 10f}, cond ? condRope : negRope, branch, session, flops);
                    }
                    String at = branch + " step " + step;
                    if (full) {
                        assertEquals(blocks, k.calls("sdpa") + k.calls("sdpa_mask") - sdpa, "one attention per block, " + at);
                        assertEquals(2 * blocks, k.calls("gelu_tanh") - gelu, "two MLPs per block, " + at);
                        assertEquals(4 * blocks + 1, k.calls("rms_norm") - rms, "QK norms and txt_norm, " + at);
                        assertEquals(2 * blocks, k.calls("rope_interleaved") - rope, "RoPE on q and k, " + at);
                        assertEquals(4 * blocks + 1, k.calls("modulate") - modulate, at);
                        assertEquals(4 * blocks, session.stats().fullSiteEvaluations() - fullSites, at);
                        assertEquals(0, session.stats().forecastSiteEvaluations() - forecastSites, at);
                    } else {
                        assertEquals(0, k.calls("sdpa") + k.calls("sdpa_mask") - sdpa, "no attention, " + at);
                        assertEquals(0, k.calls("gelu_tanh") - gelu, "no MLP, " + at);
                        assertEquals(1, k.calls("rms_norm") - rms, "only txt_norm, " + at);
                        assertEquals(0, k.calls("rope_interleaved") - rope, at);
                        assertEquals(1, k.calls("modulate") - modulate, "only the final layer normalises, " + at);
                        assertEquals(0, session.stats().fullSiteEvaluations() - fullSites, at);
                        assertEquals(4 * blocks, session.stats().forecastSiteEvaluations() - forecastSites, at);
                    }
                    FlopCounter analytic = full ? (cond ? analyticCond : analyticNeg) : (cond ? forecastCond : forecastNeg);
                    for (Kind kind : Kind.values()) {
                        long expected = analytic.get(kind);
                        assertEquals(expected, flops.get(kind), kind + " FLOPs, " + at);
                    }
                }
            }
            assertEquals(List.of(0, 1, 2, 5, 8), session.fullStepsSoFar());
            Set<SiteKey> expected = new HashSet<>();
            for (String branch : List.of(SiteKey.COND, SiteKey.UNCOND)) {
                for (int i = 0; i < blocks; i++) {
                    for (String module : List.of("img_attn", "txt_attn", "img_mlp", "txt_mlp")) {
                        expected.add(new SiteKey(branch, i, module));
                    }
                }
            }
            assertEquals(expected, session.storedOrders().keySet(), "upstream sites per block, one set per branch");
        }
    }

    @Test
    void eachBranchHasItsOwnCacheAndBothShareOneSchedule() {
        CacheConfig config = CacheConfig.of(CacheMode.HICACHE).withInterval(4);
        QwenImageDenoiser.Result single = model.run(20, config, false, 4);
        QwenImageDenoiser.Result both = model.run(20, config, true, 4);
        List<Integer> expectedFull = config.schedule().fullSteps(20);
        assertEquals(List.of(0, 1, 2, 6, 10, 14, 18), expectedFull);
        for (DenoisingLoop.StepRecord s : both.steps()) {
            assertEquals(expectedFull.contains(s.step()), s.full(), "step " + s.step());
        }
        assertEquals(single.cache().fullSteps(), both.cache().fullSteps(), "one schedule");
        assertEquals(2 * single.cache().forecastSiteEvaluations(), both.cache().forecastSiteEvaluations());
        // max order 2: every site holds D^0, D^1, D^2 at the end, float32, 32 channels; per block the
        // image sites hold 2·63 tokens and the text sites 2·L (cond L = 7, uncond L = 3)
        long cond = 3L * 2 * (2 * 63 + 2 * 7) * 32 * 4;
        long uncond = 3L * 2 * (2 * 63 + 2 * 3) * 32 * 4;
        assertEquals(cond, single.cache().bytesHeld(), "cond branch bytes");
        assertEquals(cond + uncond, both.cache().bytesHeld(), "cond + uncond bytes");
        assertEquals(cond + uncond, both.cache().peakBytesHeld());
        FlopCounter perCond = QwenImageTransformer.flopsPerForward(model.transformer.config(), 63, 7);
        FlopCounter perNeg = QwenImageTransformer.flopsPerForward(model.transformer.config(), 63, 3);
        assertEquals(expectedFull.size() * (perCond.get(Kind.MLP) + perNeg.get(Kind.MLP)), both.flops().get(Kind.MLP));
        long forecastEmbeddings = QwenImageTransformer.flopsPerForecast(model.transformer.config(), 63, 7)
                .get(Kind.EMBEDDINGS) + QwenImageTransformer.flopsPerForecast(model.transformer.config(), 63, 3)
                .get(Kind.EMBEDDINGS);
        assertEquals(expectedFull.size() * (perCond.get(Kind.EMBEDDINGS) + perNeg.get(Kind.EMBEDDINGS))
                + (20 - expectedFull.size()) * forecastEmbeddings, both.flops().get(Kind.EMBEDDINGS));

        // the same site's forecasts differ between the branches
        Map<String, List<double[]>> forecasts = new HashMap<>();
        try (NDManager m = model.manager.newSubManager();
                CacheSession session = CacheSession.open(CacheConfig.of(CacheMode.HICACHE).withInterval(3), 10, m,
                        (site, step, forecast, truth) -> {
                            if (site.layer() == 1 && site.module().equals("img_mlp")) {
                                forecasts.computeIfAbsent(site.branch(), b -> new ArrayList<>())
                                        .add(TensorAssert.values(forecast));
                            }
                        })) {
            List<MsRope.Grid> grid = List.of(MsRope.Grid.of(TinyQwen.ROWS, TinyQwen.COLS));
            RotaryEmbedding condRope = model.transformer.rotaryEmbedding(TinyQwen.TEXT_TOKENS, grid, m);
            RotaryEmbedding negRope = model.transformer.rotaryEmbedding(TinyQwen.NEGATIVE_TOKENS, grid, m);
            NDArray x = LatentPacking.pack(model.noise());
            for (int step = 0; step < 10; step++) {
                session.beginStep(step);
                float[] t = {1f - step / 10f};
                model.transformer.forward(x, model.promptEmbeds(), null, t, condRope, SiteKey.COND, session,
                        new FlopCounter());
                model.transformer.forward(x, model.negativeEmbeds(), null, t, negRope, SiteKey.UNCOND, session,
                        new FlopCounter());
            }
        }
        assertEquals(forecasts.get(SiteKey.COND).size(), forecasts.get(SiteKey.UNCOND).size());
        double[] a = forecasts.get(SiteKey.COND).get(0);
        double[] b = forecasts.get(SiteKey.UNCOND).get(0);
        double diff = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
        }
        assertTrue(diff > 1e-3, "cond and uncond forecasts differ: " + diff);
    }
}
