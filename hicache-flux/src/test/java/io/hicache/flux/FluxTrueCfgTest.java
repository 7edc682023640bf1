package io.hicache.flux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.cache.CacheSession;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.LatentPacking;
import io.hicache.core.sampling.SeededNoise;
import io.hicache.core.testing.TensorAssert;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** True classifier-free guidance on FLUX: v = v_neg + s·(v_cond − v_neg), each branch with its own cache sites. */
class FluxTrueCfgTest {
    @TempDir
    static Path dir;

    static TinyModel model;

    @BeforeAll
    static void load() throws Exception {
        model = new TinyModel(TinyModel.write(dir), TensorType.F32);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static FluxDenoiser.Negative negative() {
        return new FluxDenoiser.Negative(SeededNoise.gaussian(21, new Shape(1, TinyModel.TEXT_TOKENS, 32), model.manager),
                SeededNoise.gaussian(22, new Shape(1, 16), model.manager));
    }

    static FluxDenoiser.Result run(int steps, CacheConfig cache, FluxDenoiser.Negative negative, double scale) {
        FluxDenoiser.Request r = new FluxDenoiser.Request(model.promptEmbeds(), model.pooled(), model.noise(),
                TinyModel.WIDTH, TinyModel.HEIGHT, steps, 3.5, cache, false, negative, scale);
        return model.denoiser.denoise(r, model.manager);
    }

    /** Two plain forwards per step and the guidance formula in double, Euler in double. */
    @Test
    void matchesAnIndependentCompositionOfTwoForwards() {
        int steps = 6;
        double s = 2.5;
        FluxDenoiser.Negative neg = negative();
        FluxDenoiser.Result guided = run(steps, null, neg, s);
        float[] sigmas = model.scheduler.sigmas(steps, 64);
        try (NDManager m = model.manager.newSubManager()) {
            RotaryEmbedding rope = model.transformer.rotaryEmbedding(FluxPositions.textIds(TinyModel.TEXT_TOKENS, m),
                    FluxPositions.imageIds(16, 16, m), m);
            NDArray packed = LatentPacking.pack(model.noise());
            double[] x = TensorAssert.values(packed);
            for (int i = 0; i < steps; i++) {
                NDArray xt = m.create(toFloat(x), packed.getShape());
                float[] t = {model.scheduler.modelTimestep(sigmas[i])};
                double[] cond = TensorAssert.values(model.transformer.forward(xt, model.promptEmbeds(), model.pooled(), t,
                        new float[] {3.5f}, rope, SiteKey.COND, CacheSession.singleForward(m), new FlopCounter()));
                double[] uncond = TensorAssert.values(model.transformer.forward(xt, neg.promptEmbeds(),
                        neg.pooledPromptEmbeds(), t, new float[] {3.5f}, rope, SiteKey.COND, CacheSession.singleForward(m),
                        new FlopCounter()));
                for (int j = 0; j < x.length; j++) {
                    double v = uncond[j] + s * (cond[j] - uncond[j]);
                    x[j] += ((double) sigmas[i + 1] - sigmas[i]) * v;
                }
            }
            NDArray expected = LatentPacking.unpack(m.create(toFloat(x), packed.getShape()), 16, 16);
            TensorAssert.assertClose(expected, guided.latents(), 1e-5, 1e-5, "true CFG vs two forwards");
            NDArray unguided = run(steps, null, null, 1).latents();
            assertTrue(TensorAssert.maxRelDiff(unguided, guided.latents()) > 1e-3, "guidance changes the result");
        }
        FluxConfig c = model.transformer.config();
        assertEquals(2L * steps * (4 * c.numLayers() + c.numSingleLayers()), guided.cache().fullSiteEvaluations(),
                "both branches evaluate every site");
    }

    @Test
    void scaleOneIsBitIdenticalToNoNegativePrompt() {
        CacheConfig hicache = CacheConfig.of(CacheMode.HICACHE).withInterval(3);
        TensorAssert.assertBitEqual(run(8, hicache, null, 1).latents(), run(8, hicache, negative(), 1).latents(),
                "s = 1 runs the conditional branch only");
        TensorAssert.assertBitEqual(run(8, null, null, 4).latents(), run(8, null, null, 1).latents(),
                "no negative prompt: no second branch whatever the scale");
    }

    @Test
    void eachBranchHasItsOwnCacheSitesAndOneSchedule() {
        CacheConfig hicache = CacheConfig.of(CacheMode.HICACHE).withInterval(3);
        FluxDenoiser.Result single = run(10, hicache, null, 1);
        FluxDenoiser.Result both = run(10, hicache, negative(), 3);
        assertEquals(2 * single.cache().peakBytesHeld(), both.cache().peakBytesHeld(), "two branches hold twice the bytes");
        assertEquals(single.cache().fullSteps(), both.cache().fullSteps(), "one schedule");
        assertEquals(2 * single.cache().forecastSiteEvaluations(), both.cache().forecastSiteEvaluations());

        // the forecasts of the same site differ between the branches
        Map<String, List<double[]>> forecasts = new HashMap<>();
        FluxDenoiser.Negative neg = negative();
        try (NDManager m = model.manager.newSubManager();
                CacheSession session = CacheSession.open(hicache, 10, m, (site, step, forecast, truth) -> {
                    if (site.layer() == 0 && site.module().equals("img_attn")) {
                        forecasts.computeIfAbsent(site.branch(), b -> new ArrayList<>()).add(TensorAssert.values(forecast));
                    }
                })) {
            RotaryEmbedding rope = model.transformer.rotaryEmbedding(FluxPositions.textIds(TinyModel.TEXT_TOKENS, m),
                    FluxPositions.imageIds(16, 16, m), m);
            NDArray x = LatentPacking.pack(model.noise());
            for (int step = 0; step < 10; step++) {
                session.beginStep(step);
                float[] t = {1f - step / 10f};
                model.transformer.forward(x, model.promptEmbeds(), model.pooled(), t, new float[] {3.5f}, rope,
                        SiteKey.COND, session, new FlopCounter());
                model.transformer.forward(x, neg.promptEmbeds(), neg.pooledPromptEmbeds(), t, new float[] {3.5f}, rope,
                        SiteKey.UNCOND, session, new FlopCounter());
            }
            FluxConfig c = model.transformer.config();
            assertEquals(2 * (4 * c.numLayers() + c.numSingleLayers()), session.siteCount(), "sites per branch");
            assertTrue(session.storedOrders().containsKey(new SiteKey(SiteKey.UNCOND, 0, "img_attn")));
            assertTrue(session.storedOrders().containsKey(new SiteKey(SiteKey.COND, 0, "img_attn")));
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

    static float[] toFloat(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            f[i] = (float) x[i];
        }
        return f;
    }
}
