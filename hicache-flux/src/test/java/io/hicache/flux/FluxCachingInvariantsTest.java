package io.hicache.flux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cache integration's invariants on the tiny model (2 double + 2 single blocks, 128×128). */
class FluxCachingInvariantsTest {
    @TempDir
    static Path dir;

    static TinyModel model;

    @BeforeAll
    static void load() throws IOException {
        model = new TinyModel(TinyModel.write(dir), TensorType.F32);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void originalModeIsBitIdenticalToNoCache() {
        FluxDenoiser.Result none = model.run(8, null);
        FluxDenoiser.Result original = model.run(8, CacheConfig.of(CacheMode.ORIGINAL));
        TensorAssert.assertBitEqual(none.latents(), original.latents(), "original vs no cache");
        assertEquals(8, original.cache().fullSteps());
        assertEquals(0, original.cache().bytesHeld());
        assertEquals(0, original.cache().peakBytesHeld(), "original mode allocates no cache");
        assertEquals(none.flops(), original.flops());
    }

    @Test
    void intervalOneIsBitIdenticalToOriginal() {
        FluxDenoiser.Result original = model.run(8, null);
        for (CacheMode mode : List.of(CacheMode.HICACHE, CacheMode.TAYLOR, CacheMode.FORA)) {
            FluxDenoiser.Result cached = model.run(8, CacheConfig.of(mode).withInterval(1));
            TensorAssert.assertBitEqual(original.latents(), cached.latents(), mode + " with interval 1");
            assertEquals(8, cached.cache().fullSteps());
            assertTrue(cached.cache().bytesHeld() > 0, "sites are recorded");
        }
    }

    @Test
    void forecastingChangesTheResultOnlyALittle() {
        NDArray full = model.run(12, null).latents();
        FluxDenoiser.Result cached = model.run(12, CacheConfig.of(CacheMode.HICACHE).withInterval(3));
        double rel = TensorAssert.maxRelDiff(full, cached.latents());
        assertTrue(rel > 0, "forecast steps must change something");
        assertTrue(rel < 0.2, "HiCache N=3 stays near the full result, max rel diff " + rel);
    }

    /** Steps 0..9 with interval 3, first_enhance 3: full at 0, 1, 2, 5, 8. */
    @Test
    void forecastStepsRunNoAttentionNorMlp() {
        FluxConfig c = model.transformer.config();
        int blocks = c.numLayers() + c.numSingleLayers();
        int sitesPerStep = 4 * c.numLayers() + c.numSingleLayers();
        Kernels k = Kernels.on(model.manager.getDevice());
        FlopCounter analytic = FluxTransformer.flopsPerForward(c, TinyModel.IMAGE_TOKENS, TinyModel.TEXT_TOKENS);
        FlopCounter forecast = FluxTransformer.flopsPerForecast(c, TinyModel.IMAGE_TOKENS, TinyModel.TEXT_TOKENS);
        CacheConfig config = CacheConfig.of(CacheMode.HICACHE).withInterval(3);
        FlopCounter flops = new FlopCounter();
        try (NDManager m = model.manager.newSubManager();
                CacheSession session = CacheSession.open(config, 10, m)) {
            RotaryEmbedding rope = model.transformer.rotaryEmbedding(FluxPositions.textIds(TinyModel.TEXT_TOKENS, m),
                    FluxPositions.imageIds(16, 16, m), m);
            NDArray x = LatentPacking.pack(model.noise());
            NDArray prompt = model.promptEmbeds();
            NDArray pooled = model.pooled();
            for (int step = 0; step < 10; step++) {
                session.beginStep(step);
                long sdpa = k.calls("sdpa");
                long gelu = k.calls("gelu_tanh");
                long rms = k.calls("rms_norm");
                long rope0 = k.calls("rope_interleaved");
                long modulate = k.calls("modulate");
                long fullSites = session.stats().fullSiteEvaluations();
                long forecastSites = session.stats().forecastSiteEvaluations();
                Map<Kind, Long> flopsBefore = flops.snapshot();
                try (NDManager s = m.newSubManager()) {
                    s.tempAttachAll(x);
                    model.transformer.forward(x, prompt, pooled, new float[] {1f - step / 10f}, new float[] {3.5f},
                            rope, SiteKey.COND, session, flops);
                }
                boolean full = session.isFullStep();
                assertEquals(List.of(0, 1, 2, 5, 8).contains(step), full, "schedule at step " + step);
                if (full) {
                    assertEquals(blocks, k.calls("sdpa") - sdpa, "one attention per block");
                    assertEquals(2 * c.numLayers() + c.numSingleLayers(), k.calls("gelu_tanh") - gelu, "MLPs");
                    assertEquals(4 * c.numLayers() + 2 * c.numSingleLayers(), k.calls("rms_norm") - rms, "QK norms");
                    assertEquals(2 * blocks, k.calls("rope_interleaved") - rope0, "RoPE on q and k");
                    // per double block x̂, ĉ and the two MLP inputs; per single block x̂; the final layer
                    assertEquals(4 * c.numLayers() + c.numSingleLayers() + 1, k.calls("modulate") - modulate);
                    assertEquals(sitesPerStep, session.stats().fullSiteEvaluations() - fullSites);
                    assertEquals(0, session.stats().forecastSiteEvaluations() - forecastSites);
                } else {
                    assertEquals(0, k.calls("sdpa") - sdpa, "no attention on a forecast step");
                    assertEquals(0, k.calls("gelu_tanh") - gelu, "no MLP on a forecast step");
                    assertEquals(0, k.calls("rms_norm") - rms);
                    assertEquals(0, k.calls("rope_interleaved") - rope0);
                    assertEquals(1, k.calls("modulate") - modulate, "only the final layer normalises");
                    assertEquals(0, session.stats().fullSiteEvaluations() - fullSites);
                    assertEquals(sitesPerStep, session.stats().forecastSiteEvaluations() - forecastSites);
                }
                for (Kind kind : Kind.values()) {
                    long spent = flops.get(kind) - flopsBefore.get(kind);
                    long expected = (full ? analytic : forecast).get(kind);
                    assertEquals(expected, spent, kind + " FLOPs at step " + step);
                }
            }
            assertEquals(List.of(0, 1, 2, 5, 8), session.fullStepsSoFar());
            Set<SiteKey> expected = new HashSet<>();
            for (int i = 0; i < c.numLayers(); i++) {
                for (String module : List.of("img_attn", "img_mlp", "txt_attn", "txt_mlp")) {
                    expected.add(new SiteKey(SiteKey.COND, i, module));
                }
            }
            for (int j = 0; j < c.numSingleLayers(); j++) {
                expected.add(new SiteKey(SiteKey.COND, c.numLayers() + j, "total"));
            }
            assertEquals(expected, session.storedOrders().keySet(), "sites at upstream granularity and numbering");
        }
    }

    @Test
    void fullStepsFollowTheScheduleAndCacheMemoryIsAccounted() {
        CacheConfig config = CacheConfig.of(CacheMode.HICACHE).withInterval(4);
        FluxDenoiser.Result r = model.run(20, config);
        List<Integer> expectedFull = config.schedule().fullSteps(20);
        assertEquals(List.of(0, 1, 2, 6, 10, 14, 18), expectedFull);
        for (DenoisingLoop.StepRecord s : r.steps()) {
            assertEquals(expectedFull.contains(s.step()), s.full(), "step " + s.step());
        }
        assertEquals(expectedFull.size(), r.cache().fullSteps());
        assertEquals(20 - expectedFull.size(), r.cache().forecastSteps());
        // max order 2: every site holds D^0, D^1, D^2 at the end, in float32:
        // per order 2 double blocks × (2·64 + 2·8 tokens) + 2 single blocks × 72 tokens, × 32 channels × 4 bytes
        long perOrder = (2 * (2 * 64 + 2 * 8) + 2 * 72) * 32 * 4;
        assertEquals(3 * perOrder, r.cache().bytesHeld());
        assertEquals(3 * perOrder, r.cache().peakBytesHeld());
        FluxConfig c = model.transformer.config();
        FlopCounter perForward = FluxTransformer.flopsPerForward(c, TinyModel.IMAGE_TOKENS, TinyModel.TEXT_TOKENS);
        assertEquals(expectedFull.size() * perForward.get(Kind.MLP), r.flops().get(Kind.MLP));
        FlopCounter perForecast = FluxTransformer.flopsPerForecast(c, TinyModel.IMAGE_TOKENS, TinyModel.TEXT_TOKENS);
        assertEquals(expectedFull.size() * perForward.get(Kind.EMBEDDINGS)
                + (20 - expectedFull.size()) * perForecast.get(Kind.EMBEDDINGS), r.flops().get(Kind.EMBEDDINGS));
        assertFalse(r.steps().isEmpty());
    }
}
