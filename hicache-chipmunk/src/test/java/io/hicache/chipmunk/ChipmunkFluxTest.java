package io.hicache.chipmunk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.metrics.FlopCounter.Kind;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.sampling.SeededNoise;
import io.hicache.core.testing.TensorAssert;
import io.hicache.flux.FluxDenoiser;
import io.hicache.flux.FluxTransformer;
import io.hicache.flux.TinyFlux;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chipmunk in the tiny FLUX model (2 double + 2 single blocks, 2 heads × 16, MLP 128) at 256×256
 * (16×16 = 256 image tokens + 8 text tokens: two query blocks of 192, three token blocks of 128),
 * every layer sparsifiable (first_n_dense_layers 0), against the flux backend's denoiser, 12 steps
 * (dense steps 0, 1 and 10, set reuse at 11). Equal-within-rounding checks allow 1e-6 of the largest
 * latent (≈ 8 float32 ulps of it): measured 1.6e-7 on this machine for each of them.
 */
class ChipmunkFluxTest {
    static final int SIZE = 256;
    static final int TEXT = 8;
    static final int STEPS = 12;

    @TempDir
    static Path dir;

    static NDManager manager;
    static FluxTransformer transformer;
    static FlowMatchEuler scheduler;

    @BeforeAll
    static void load() throws IOException {
        TinyFlux.write(dir, TinyFlux.config(), 1, TensorType.F32, false);
        manager = NDManager.newBaseManager();
        transformer = FluxTransformer.load(dir, TensorType.F32, manager);
        scheduler = FlowMatchEuler.read(dir.resolve("scheduler").resolve("scheduler_config.json"));
    }

    @AfterAll
    static void close() {
        transformer.close();
        manager.close();
    }

    static ChipmunkConfig config(String... keyValues) {
        Map<String, String> m = new HashMap<>(Map.of("attn.first_n_dense_layers", "0", "mlp.first_n_dense_layers", "0"));
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return WorkedExamplesTest.config(m);
    }

    static FluxDenoiser.Request request(int batch, CacheConfig cache) {
        return new FluxDenoiser.Request(SeededNoise.gaussian(11, new Shape(batch, TEXT, 32), manager),
                SeededNoise.gaussian(12, new Shape(batch, 16), manager),
                SeededNoise.gaussian(13, new Shape(batch, 16, SIZE / 8, SIZE / 8), manager), SIZE, SIZE, STEPS, 3.5, cache);
    }

    static FluxDenoiser.Result flux(CacheConfig cache) {
        return new FluxDenoiser(transformer, scheduler).denoise(request(1, cache), manager);
    }

    static FluxDenoiser.Result chipmunk(ChipmunkKernels kernels, int batch, CacheConfig cache) {
        return new FluxDenoiser(transformer, scheduler, kernels).denoise(request(batch, cache), manager);
    }

    @Test
    void bothPartsAndPatchifyOffEqualFluxWithinRounding() {
        NDArray dense = flux(null).latents();
        ChipmunkKernels kernels = new ChipmunkKernels(config("attn.is_enabled", "false", "mlp.is_enabled", "false",
                "patchify.is_enabled", "false"));
        NDArray off = chipmunk(kernels, 1, null).latents();
        // the only difference: a single block computes proj_out as attention columns + bias, plus the
        // MLP columns, instead of one product over [attention | MLP] — the same sums in another order
        double rel = TensorAssert.maxRelDiff(dense, off);
        assertTrue(rel < 1e-6, "relative difference " + rel);
        assertEquals(1.0, kernels.lastGeneration().attentionFraction());
        assertEquals(1.0, kernels.lastGeneration().mlpFraction());
    }

    @Test
    void patchifyAloneDoesNotChangeDenseMath() {
        NDArray dense = flux(null).latents();
        NDArray permuted = chipmunk(new ChipmunkKernels(config("attn.is_enabled", "false", "mlp.is_enabled", "false")),
                1, null).latents();
        double rel = TensorAssert.maxRelDiff(dense, permuted);
        assertTrue(rel < 1e-6, "relative difference " + rel);
    }

    @Test
    void keepingEveryKeyAndNeuronEqualsFlux() {
        NDArray dense = flux(null).latents();
        ChipmunkKernels kernels = new ChipmunkKernels(config("attn.top_keys", "1", "mlp.top_keys", "1"));
        NDArray all = chipmunk(kernels, 1, null).latents();
        double rel = TensorAssert.maxRelDiff(dense, all);
        assertTrue(rel < 1e-6, "relative difference " + rel);
        assertTrue(kernels.lastGeneration().events().stream().anyMatch(e -> e.decision().equals("S")),
                "sparse steps ran");
    }

    @Test
    void sparsityChangesTheResultButStaysClose() {
        NDArray dense = flux(null).latents();
        ChipmunkKernels kernels = new ChipmunkKernels(config());
        NDArray sparse = chipmunk(kernels, 1, null).latents();
        double rel = TensorAssert.maxRelDiff(dense, sparse);
        assertTrue(rel > 1e-4 && rel < 0.5, "relative difference " + rel);
        ChipmunkKernels.Summary s = kernels.lastGeneration();
        assertTrue(s.attentionFraction() < 0.6 && s.mlpFraction() < 0.8, s.attentionFraction() + ", " + s.mlpFraction());
        assertTrue(s.peakCacheBytes() > 0);
    }

    @Test
    void hicacheAtIntervalOneIsChipmunkAloneBitForBit() {
        ChipmunkKernels alone = new ChipmunkKernels(config());
        NDArray a = chipmunk(alone, 1, null).latents();
        ChipmunkKernels cached = new ChipmunkKernels(config());
        FluxDenoiser.Result c = chipmunk(cached, 1, CacheConfig.builder(CacheMode.HICACHE).interval(1).build());
        TensorAssert.assertBitEqual(a, c.latents(), "Chipmunk + HiCache N=1 vs Chipmunk alone");
        assertEquals(alone.lastGeneration().events(), cached.lastGeneration().events());
        assertEquals(STEPS, c.cache().fullSteps());
    }

    @Test
    void forecastStepsTouchNoChipmunkState() {
        for (boolean catchUp : new boolean[] {true, false}) {
            ChipmunkKernels kernels = new ChipmunkKernels(config("catch_up", String.valueOf(catchUp)));
            FluxDenoiser.Result r = chipmunk(kernels, 1, CacheConfig.builder(CacheMode.HICACHE).interval(3).build());
            Set<Integer> eventSteps = new TreeSet<>();
            Map<Integer, Integer> calls = new HashMap<>();
            for (ChipmunkState.Event e : kernels.lastGeneration().events()) {
                eventSteps.add(e.step());
                calls.merge(e.step(), 1, Integer::sum);
            }
            Set<Integer> full = new TreeSet<>();
            r.steps().forEach(s -> {
                if (s.full()) {
                    full.add(s.step());
                }
            });
            assertEquals(full, eventSteps, "Chipmunk runs exactly on the full steps");
            assertTrue(full.size() < STEPS);
            // 4 attention cores and 2 image + 2 single MLPs per full step
            calls.values().forEach(n -> assertEquals(8, n));
        }
    }

    @Test
    void withTrueCfgEachBranchHasItsOwnStateOnOneSchedule() {
        ChipmunkKernels kernels = new ChipmunkKernels(config());
        FluxDenoiser.Request r = request(1, null);
        FluxDenoiser.Negative negative = new FluxDenoiser.Negative(SeededNoise.gaussian(21, new Shape(1, TEXT, 32),
                manager), SeededNoise.gaussian(22, new Shape(1, 16), manager));
        new FluxDenoiser(transformer, scheduler, kernels).denoise(new FluxDenoiser.Request(r.promptEmbeds(),
                r.pooledPromptEmbeds(), r.noise(), SIZE, SIZE, 3, 3.5, null, false, negative, 4.0), manager);
        List<ChipmunkState.Event> events = kernels.lastGeneration().events();
        List<String> cond = events.stream().filter(e -> e.key().branch().equals("cond"))
                .map(e -> e.step() + "/" + e.key().layer() + "/" + e.key().module() + ":" + e.decision()).toList();
        List<String> uncond = events.stream().filter(e -> e.key().branch().equals("uncond"))
                .map(e -> e.step() + "/" + e.key().layer() + "/" + e.key().module() + ":" + e.decision()).toList();
        assertEquals(cond, uncond, "both branches decide alike");
        // each branch selects its own keys at step 1: had they shared state, the second would find them
        assertEquals(4, cond.stream().filter(e -> e.startsWith("1/") && e.endsWith("attn:D+keys")).count());
        assertEquals(4, uncond.stream().filter(e -> e.startsWith("1/") && e.endsWith("attn:D+keys")).count());
    }

    @Test
    void aGenerationLeavesNothingBehindButItsResult() {
        ChipmunkKernels kernels = new ChipmunkKernels(config("mlp.random_keys", "0.1"));
        FluxDenoiser denoiser = new FluxDenoiser(transformer, scheduler, kernels);
        int[] grew = new int[2];
        for (int i = 0; i < 2; i++) {
            FluxDenoiser.Request r = request(1, null);
            int before = manager.getManagedArrays().size();
            FluxDenoiser.Result result = denoiser.denoise(new FluxDenoiser.Request(r.promptEmbeds(),
                    r.pooledPromptEmbeds(), r.noise(), SIZE, SIZE, 3 + 3 * i, 3.5, null), manager);
            result.latents().close();
            grew[i] = manager.getManagedArrays().size() - before;
        }
        // with the latents closed nothing is left, after 3 steps nor after 6 (a per-step leak grows with them)
        assertEquals(0, grew[0]);
        assertEquals(0, grew[1]);
    }

    @Test
    void keysAreSelectedAtTheFirstFullStepAfterZero() {
        ChipmunkKernels kernels = new ChipmunkKernels(config());
        chipmunk(kernels, 1, CacheConfig.builder(CacheMode.HICACHE).interval(4).firstEnhance(1).build());
        List<String> layerZeroAttn = kernels.lastGeneration().events().stream()
                .filter(e -> e.key().layer() == 0 && e.key().module().equals("attn"))
                .map(e -> e.step() + ":" + e.decision()).toList();
        assertEquals(List.of("0:D", "4:D+keys", "8:S"), layerZeroAttn);
    }

    @Test
    void batchElementZeroEqualsItsBatchOfOneRun() {
        ChipmunkKernels one = new ChipmunkKernels(config());
        NDArray single = chipmunk(one, 1, null).latents();
        ChipmunkKernels two = new ChipmunkKernels(config());
        FluxDenoiser.Request r = request(2, null);
        // element 1 differs from element 0: other noise, the same prompt
        NDArray noise = r.noise().get(new NDIndex("0:1")).concat(
                SeededNoise.gaussian(99, new Shape(1, 16, SIZE / 8, SIZE / 8), manager), 0);
        NDArray pair = new FluxDenoiser(transformer, scheduler, two).denoise(new FluxDenoiser.Request(
                r.promptEmbeds().get(new NDIndex("0:1")).repeat(0, 2), r.pooledPromptEmbeds().get(new NDIndex("0:1"))
                        .repeat(0, 2), noise, SIZE, SIZE, STEPS, 3.5, null), manager).latents();
        // a batched product may round differently; a flipped key or neuron selection would show as ~1e-2
        double rel = TensorAssert.maxRelDiff(single, pair.get(new NDIndex("0:1")));
        assertTrue(rel < 1e-6, "relative difference " + rel);
        assertFalse(TensorAssert.maxRelDiff(single, pair.get(new NDIndex("1:2"))) < 1e-3, "element 1 is another image");
    }

    @Test
    void flopFractionsFollowSection7() {
        FluxDenoiser.Result dense = flux(null);
        FluxDenoiser.Result sparse = chipmunk(new ChipmunkKernels(config()), 1, null);
        assertEquals(dense.flops().get(Kind.ATTENTION_PROJECTIONS), sparse.flops().get(Kind.ATTENTION_PROJECTIONS));
        assertEquals(dense.flops().get(Kind.EMBEDDINGS), sparse.flops().get(Kind.EMBEDDINGS));
        // §7 by hand: S = 264, D = 32, k_a = 40; dense attention at 0, 1, 10 (o_cache at 1 and 10), sparse at 9 steps
        double s = 264;
        double d = 32;
        double ka = 40;
        double attention = (3 * 4 * s * s * d + 2 * 4 * s * ka * d + 9 * 4 * s * ka * d) / (STEPS * 4 * s * s * d);
        assertEquals(attention, sparse.metrics().get("attention_flop_fraction"), 1e-12);
        assertEquals(attention * 4 * 4 * s * s * d * STEPS, sparse.flops().get(Kind.ATTENTION_SCORES), 1);
        // MLPs: F = 128, k_m + r_m = 38 + 5; dense at 0 and 10, sparse at 1-9 (refreshing) and 11 (reusing);
        // image MLPs over T = 256 tokens (2 blocks of 128), single-block MLPs over 264 (3 blocks)
        double f = 128;
        double kept = 43;
        double executed = 0;
        double all = 0;
        for (double[] t : new double[][] {{256, 2}, {256, 2}, {264, 3}, {264, 3}}) {
            executed += 2 * 4 * t[0] * d * f + 10 * 4 * t[0] * kept * d + 9 * 2 * t[1] * d * f;
            all += STEPS * 4 * t[0] * d * f;
        }
        assertEquals(executed / all, sparse.metrics().get("mlp_flop_fraction"), 1e-12);
        double text = STEPS * 2 * 4 * TEXT * d * f; // the double blocks' text MLPs stay dense
        assertEquals(executed + text, sparse.flops().get(Kind.MLP), 1);
        double blocks = dense.flops().get(Kind.ATTENTION_PROJECTIONS) + dense.flops().get(Kind.ATTENTION_SCORES)
                + dense.flops().get(Kind.MLP);
        assertEquals((dense.flops().get(Kind.ATTENTION_PROJECTIONS) + attention * dense.flops().get(Kind.ATTENTION_SCORES)
                + executed + text) / blocks, sparse.metrics().get("block_flop_fraction"), 1e-12);
        assertTrue(sparse.metrics().get("chipmunk_cache_peak_bytes") > 0);
    }

    @Test
    void underStepCachingTheFractionsCountEveryStep() {
        ChipmunkKernels kernels = new ChipmunkKernels(config());
        FluxDenoiser.Result r = chipmunk(kernels, 1, CacheConfig.builder(CacheMode.HICACHE).interval(3).build());
        double ran = (double) r.cache().fullSteps() / STEPS;
        assertEquals(kernels.lastGeneration().attentionFraction() * ran, r.metrics().get("attention_flop_fraction"),
                1e-12);
        assertTrue(r.metrics().get("block_flop_fraction") < ran);
    }
}
