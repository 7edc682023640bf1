package io.hicache.core.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CacheSessionTest {
    NDManager m;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    NDArray scalar(double v) {
        return m.create(new double[] {v});
    }

    /**
     * Drives a session over explicit full-step features and returns the value used at every step
     * (truth at full steps, forecast elsewhere).
     */
    double[] run(CacheConfig c, int steps, Map<Integer, Double> fullFeatures) {
        double[] used = new double[steps];
        try (CacheSession s = CacheSession.open(c, steps, m)) {
            for (int t = 0; t < steps; t++) {
                s.beginStep(t);
                NDArray in = s.needsCompute(SiteKey.of(0, "x")) ? scalar(fullFeatures.get(t)) : null;
                used[t] = s.resolve(SiteKey.of(0, "x"), in, m).toDoubleArray()[0];
            }
        }
        return used;
    }

    /** docs/algorithm.md §8.2, Example B: order 1, N = 5, fe = 3, 12 steps. */
    @Test
    void exampleB() {
        Map<Integer, Double> f = Map.of(0, 1.0, 1, 1.2, 2, 1.5, 7, 2.4);
        CacheConfig c = CacheConfig.of(CacheMode.TAYLOR).withInterval(5).withMaxOrder(1).withFirstEnhance(3);
        assertEquals("FFFffffFffff", c.schedule().pattern(12));
        double[][] expected = {
            // step:      3      4      5      6      8      9      10     11
            {1.8, 2.1, 2.4, 2.7, 2.58, 2.76, 2.94, 3.12}, // Taylor
            {1.65, 1.8, 1.95, 2.1, 2.49, 2.58, 2.67, 2.76}, // HiCache σ=0.5
            {1.716, 1.932, 2.148, 2.364, 2.5296, 2.6592, 2.7888, 2.9184}, // HiCache σ=0.6
            {1.575, 1.65, 1.725, 1.8, 2.445, 2.49, 2.535, 2.58}, // Taylor-Scaled σ=0.5
        };
        CacheConfig[] configs = {c, c.withMode(CacheMode.HICACHE), c.withMode(CacheMode.HICACHE).withHicacheScale(0.6),
            c.withMode(CacheMode.TAYLOR_SCALED)};
        int[] steps = {3, 4, 5, 6, 8, 9, 10, 11};
        for (int i = 0; i < configs.length; i++) {
            double[] used = run(configs[i], 12, f);
            for (int j = 0; j < steps.length; j++) {
                assertEquals(expected[i][j], used[steps[j]], 1e-12, configs[i] + " step " + steps[j]);
            }
        }
    }

    /** docs/algorithm.md §8.3: the cache after each full step of Example C (orders up to 3). */
    @Test
    void exampleCDerivativeStacks() {
        CacheConfig c = CacheConfig.of(CacheMode.TAYLOR).withInterval(4).withMaxOrder(3).withFirstEnhance(3);
        double[][] after = {
            {0}, {0.345520206661}, {0.764642473395, 0.419122266734},
            {2.77384763088, 0.502301289371, 0.0207947556593},
            {5.14112000806, 0.591818094295, 0.0223792012312, 0.000396111392971},
            {8.92842422759, 0.946826054882, 0.0887519901466, 0.0165931972288}};
        int[] full = {0, 1, 2, 6, 10, 14};
        try (CacheSession s = CacheSession.open(c, 15, m)) {
            int k = 0;
            for (int t = 0; t < 15; t++) {
                s.beginStep(t);
                double f = Math.sin(0.3 * t) + 0.05 * t * t;
                s.resolve(SiteKey.of(0, "x"), s.needsCompute(SiteKey.of(0, "x")) ? scalar(f) : null, m);
                if (s.isFullStep()) {
                    assertEquals(full[k], t);
                    assertEquals(after[k].length, s.storedOrders().get(SiteKey.of(0, "x")), "orders after step " + t);
                    k++;
                }
            }
            assertEquals(6, k);
        }
        // the values: D^k at step 14 by upstream's recursion from the golden stack of step 10 (d = 4)
        double[] old = after[4];
        double n = Math.sin(0.3 * 14) + 0.05 * 14 * 14;
        for (int row = 0; row < 4; row++) {
            assertEquals(after[5][row], n, 1e-11, "D^" + row + " at step 14");
            if (row < 3) {
                n = (n - old[row]) / 4;
            }
        }
    }

    /**
     * N0 = F; N1 = (F − o0)/d; N2 = (N1 − o1)/d, worked by hand for d = 5, in every dtype, both as
     * a new stack and in place; the warm-up update (no order produced) keeps F alone.
     */
    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F64", "F32", "BF16"})
    void theUpdateIsTheRecursiveDifference(TensorType dtype) {
        try (NDManager scope = m.newSubManager()) {
            // F = (3, −1.5); o0 = (2, 0.5); o1 = (0.25, −0.75); o2 = (9, 9) is the order dropped
            // N1 = ((3 − 2)/5, (−1.5 − 0.5)/5) = (0.2, −0.4)
            // N2 = ((0.2 − 0.25)/5, (−0.4 + 0.75)/5) = (−0.01, 0.07)
            double[] expected = {3.0, -1.5, 0.2, -0.4, -0.01, 0.07};
            // the inputs are exact in every dtype; bf16 rounds 0.2 and 0.4 to 8 significant bits
            // (±0.0008), and N2 inherits that error divided by 5
            double tol = dtype == TensorType.BF16 ? 2e-3 : dtype == TensorType.F32 ? 1e-7 : 1e-15;
            NDArray feature = Precision.cast(scope.create(new double[] {3.0, -1.5}), dtype);
            NDArray stack = Precision.cast(scope.create(new double[] {2.0, 0.5, 0.25, -0.75, 9.0, 9.0}, new Shape(3, 2)),
                    dtype);
            Kernels kernels = Kernels.of(feature);
            NDArray fresh = kernels.derivativeUpdate(feature, stack, 2, 5, scope);
            assertArrayEquals(new long[] {3, 2}, fresh.getShape().getShape());
            kernels.derivativeUpdateInPlace(feature, stack, 5);
            io.hicache.core.testing.TensorAssert.assertBitEqual(fresh, stack, dtype + ": in place = new stack");
            assertArrayEquals(expected, Precision.cast(stack, TensorType.F64).toDoubleArray(), tol, dtype.toString());
            NDArray warmUp = kernels.derivativeUpdate(feature, stack, 0, 0, scope);
            assertArrayEquals(new double[] {3.0, -1.5}, Precision.cast(warmUp, TensorType.F64).toDoubleArray(), 0,
                    "no order produced: F alone");
        }
    }

    @Test
    void theProducedOrdersFollowUpstream() {
        assertEquals(0, DerivativeUpdate.produced(3, 2, 1, 3), "warm-up differences are dropped");
        assertEquals(1, DerivativeUpdate.produced(1, 2, 2, 3));
        assertEquals(2, DerivativeUpdate.produced(3, 2, 9, 3), "capped by max order");
    }

    /** σ = 1/√2 makes the order-1 Hermite term 2σ²x = x: a linear series is extrapolated exactly. */
    @Test
    void hermiteAtInverseSqrt2ExtrapolatesLinearSeriesExactly() {
        CacheConfig c = CacheConfig.of(CacheMode.HICACHE).withMaxOrder(1).withInterval(6)
                .withHicacheScale(1 / Math.sqrt(2));
        Map<Integer, Double> f = new java.util.HashMap<>();
        for (int t = 0; t < 30; t++) {
            f.put(t, 0.7 + 0.25 * t);
        }
        double[] used = run(c, 30, f);
        for (int t = 0; t < 30; t++) {
            assertEquals(0.7 + 0.25 * t, used[t], 1e-12, "step " + t);
        }
    }

    @Test
    void forecastAtDistanceOneMovesForwardOnAnIncreasingSeries() {
        for (CacheMode mode : new CacheMode[] {CacheMode.TAYLOR, CacheMode.HICACHE, CacheMode.TAYLOR_SCALED}) {
            CacheConfig c = CacheConfig.of(mode).withMaxOrder(1).withInterval(4);
            double[] used = run(c, 4, Map.of(0, 1.0, 1, 2.0, 2, 3.0));
            assertTrue(used[3] > used[2], mode + ": " + used[3] + " after " + used[2]);
        }
    }

    @Test
    void originalStoresNothingAndReturnsItsInput() {
        try (CacheSession s = CacheSession.open(CacheConfig.of(CacheMode.ORIGINAL), 5, m)) {
            for (int t = 0; t < 5; t++) {
                s.beginStep(t);
                assertTrue(s.isFullStep());
                NDArray x = m.randomNormal(new Shape(4, 8));
                assertSame(x, s.resolve(SiteKey.of(3, "img_attn"), x, m));
            }
            assertEquals(0, s.bytesHeld());
            assertEquals(0, s.siteCount());
            assertEquals(5, s.stats().fullSiteEvaluations());
        }
    }

    /**
     * After the warm-up a full step keeps the number of orders, and the update is written into the
     * site's own storage: the same tensor, with the bits of the allocating update.
     */
    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "BF16", "F64"})
    void steadyStateUpdatesAreInPlaceAndEqualTheAllocatingUpdate(TensorType dtype) {
        try (NDManager scope = m.newSubManager()) {
            FeatureSite site = new FeatureSite(scope);
            java.util.function.IntFunction<NDArray> feature = t -> Precision.cast(
                    scope.randomNormal(new Shape(3, 5)).add(t), dtype);
            site.record(feature.apply(0), 0, 0);
            site.record(feature.apply(1), 1, 2);
            site.record(feature.apply(2), 2, 2);
            assertEquals(3, site.orders());
            for (int t = 3; t < 7; t++) {
                NDArray before = site.stack();
                NDArray f = feature.apply(t);
                NDArray expected = Kernels.of(f).derivativeUpdate(f, before, 2, 3, scope);
                site.record(f, 2, 3);
                assertSame(before, site.stack(), "step " + t + " updates in place");
                io.hicache.core.testing.TensorAssert.assertBitEqual(expected, site.stack(), dtype + " step " + t);
            }
        }
    }

    @Test
    void theNoCacheSessionComputesEverySiteAndHoldsNothing() {
        try (CacheSession s = CacheSession.none(4, m)) {
            for (int t = 0; t < 4; t++) {
                s.beginStep(t);
                for (int layer = 0; layer < 3; layer++) {
                    SiteKey key = SiteKey.of(layer, "img_attn");
                    assertTrue(s.needsCompute(key));
                    NDArray x = m.randomNormal(new Shape(2, 3));
                    assertSame(x, s.resolve(key, x, m), "returned untouched");
                }
            }
            assertEquals(0, s.siteCount());
            assertEquals(0, s.stats().peakBytesHeld());
            assertEquals(12, s.stats().fullSiteEvaluations());
            assertEquals(4, s.stats().fullSteps());
        }
    }

    @Test
    void everyModeNamesItsForecaster() {
        // the coefficients of x = 2 with 3 stored orders, worked by hand (σ = 0.5, max order 2)
        CacheConfig c = CacheConfig.defaults();
        SiteKey k = SiteKey.of(0, "x");
        assertArrayEquals(new double[] {1}, CacheMode.FORA.newForecaster(c).coefficients(k, 3, 2), 0);
        assertEquals(0, CacheMode.FORA.newForecaster(c).orderLimit());
        assertArrayEquals(new double[] {1, 2, 2}, CacheMode.TAYLOR.newForecaster(c).coefficients(k, 3, 2), 1e-15);
        // Hermite: α1 = σ·H1(σx) = 0.5·2·1 = 1; α2 = σ²·H2(σx)/2 = 0.25·(4·1 − 2)/2 = 0.25
        assertArrayEquals(new double[] {1, 1, 0.25}, CacheMode.HICACHE.newForecaster(c).coefficients(k, 3, 2), 1e-15);
        // scaled Taylor: σ^{2k} x^k / k! = 1, 0.25·2, 0.0625·4/2
        assertArrayEquals(new double[] {1, 0.5, 0.125}, CacheMode.TAYLOR_SCALED.newForecaster(c).coefficients(k, 3, 2),
                1e-15);
        assertEquals(2, CacheMode.HICACHE_ANALYTIC.newForecaster(c).orderLimit());
        assertTrue(CacheMode.HICACHE_ANALYTIC.newForecaster(c).observesFirstDerivative());
    }

    @Test
    void intervalOneNeverForecastsAndReturnsComputedValues() {
        CacheConfig c = CacheConfig.defaults().withInterval(1);
        try (CacheSession s = CacheSession.open(c, 10, m)) {
            for (int t = 0; t < 10; t++) {
                s.beginStep(t);
                assertTrue(s.needsCompute(SiteKey.of(0, "x")));
                NDArray x = m.randomNormal(new Shape(2, 3));
                assertSame(x, s.resolve(SiteKey.of(0, "total"), x, m));
            }
            assertEquals(0, s.stats().forecastSiteEvaluations());
        }
    }

    @Test
    void memoryIsCountedCappedByOrderAndFreedOnClose() {
        CacheConfig c = CacheConfig.defaults().withMaxOrder(2).withInterval(3);
        CacheSession s = CacheSession.open(c, 20, m);
        long perOrder = 4 * 8 * 4;
        for (int t = 0; t < 20; t++) {
            s.beginStep(t);
            for (int layer = 0; layer < 2; layer++) {
                NDArray x = s.needsCompute(SiteKey.of(0, "x")) ? m.full(new Shape(4, 8), (float) (t * t + layer)) : null;
                s.resolve(SiteKey.of(layer, "img_mlp"), x, m);
            }
            assertTrue(s.bytesHeld() <= 2 * 3 * perOrder, "at most max order + 1 tensors per site");
        }
        assertEquals(2 * 3 * perOrder, s.bytesHeld(), "two sites with three orders of [4,8] f32");
        assertEquals(2 * 3 * perOrder, s.stats().peakBytesHeld());
        s.close();
        assertEquals(0, s.bytesHeld());
        assertThrows(IllegalStateException.class, () -> s.beginStep(20));
    }

    @Test
    void foraKeepsOnlyTheLastFeature() {
        CacheConfig c = CacheConfig.of(CacheMode.FORA).withInterval(3);
        double[] used = run(c, 8, Map.of(0, 1.0, 1, 2.0, 2, 4.0, 5, 9.0));
        assertArrayEquals(new double[] {1, 2, 4, 4, 4, 9, 9, 9}, used, 0);
    }

    @Test
    void branchesKeepSeparateState() {
        CacheConfig c = CacheConfig.of(CacheMode.TAYLOR).withMaxOrder(1).withInterval(5);
        try (CacheSession s = CacheSession.open(c, 4, m)) {
            double[] cond = {0, 1, 2};
            double[] uncond = {10, 8, 6};
            for (int t = 0; t < 4; t++) {
                s.beginStep(t);
                NDArray a = s.resolve(new SiteKey("cond", 0, "x"), s.needsCompute(new SiteKey("cond", 0, "x")) ? scalar(cond[t]) : null, m);
                NDArray b = s.resolve(new SiteKey("uncond", 0, "x"), s.needsCompute(new SiteKey("uncond", 0, "x")) ? scalar(uncond[t]) : null, m);
                if (t == 3) {
                    assertEquals(3.0, a.toDoubleArray()[0], 1e-12);
                    assertEquals(4.0, b.toDoubleArray()[0], 1e-12);
                }
            }
        }
    }

    @Test
    void misuseIsReported() {
        try (CacheSession s = CacheSession.open(CacheConfig.defaults().withFirstEnhance(1).withInterval(3), 6, m)) {
            assertThrows(IllegalStateException.class, s::isFullStep, "before the first step");
            assertThrows(IllegalStateException.class, () -> s.beginStep(1), "steps in order");
            s.beginStep(0);
            assertThrows(IllegalArgumentException.class, () -> s.resolve(SiteKey.of(0, "x"), null, m),
                    "a full step needs the computed value");
            s.beginStep(1);
            assertThrows(IllegalStateException.class, () -> s.resolve(SiteKey.of(9, "never-seen"), null, m),
                    "no forecast before a full step stored the site");
        }
    }

    @Test
    void forecastStepsReturnTensorsOwnedByTheCallersScope() {
        CacheConfig c = CacheConfig.defaults().withInterval(4);
        try (CacheSession s = CacheSession.open(c, 6, m)) {
            for (int t = 0; t < 6; t++) {
                s.beginStep(t);
                try (NDManager scope = m.newSubManager()) {
                    NDArray x = s.needsCompute(SiteKey.of(0, "x")) ? scope.full(new Shape(3), (float) t) : null;
                    NDArray used = s.resolve(SiteKey.of(0, "x"), x, scope);
                    assertSame(scope, used.getManager());
                    if (x != null) {
                        assertSame(x, used);
                    } else {
                        assertNotSame(x, used);
                    }
                }
            }
        }
    }

    @Test
    void bf16SitesForecastInBf16() {
        CacheConfig c = CacheConfig.defaults().withInterval(4);
        try (CacheSession s = CacheSession.open(c, 5, m)) {
            for (int t = 0; t < 5; t++) {
                s.beginStep(t);
                NDArray x = s.needsCompute(SiteKey.of(0, "x")) ? Precision.cast(m.full(new Shape(2, 2), (float) t), TensorType.BF16) : null;
                NDArray used = s.resolve(SiteKey.of(0, "x"), x, m);
                assertEquals(TensorType.BF16, Precision.typeOf(used));
                if (t == 3) {
                    // HiCache σ .5 order 2 on F = t: D1 = 1, D2 = 0 → 2 + 0.5·1 = 2.5
                    assertEquals(2.5f, Precision.toFloat32(used).toFloatArray()[0], 1e-2);
                }
            }
        }
    }

    @Test
    void measuringErrorsComputesButStillUsesTheForecast() {
        CacheConfig c = CacheConfig.of(CacheMode.FORA).withInterval(4);
        ForecastErrors errors = new ForecastErrors();
        try (CacheSession s = CacheSession.open(c, 5, m, errors)) {
            for (int t = 0; t < 5; t++) {
                s.beginStep(t);
                assertTrue(s.needsCompute(SiteKey.of(0, "x")));
                NDArray x = m.create(new float[] {t + 1f, 0});
                NDArray used = s.resolve(SiteKey.of(0, "x"), x, m);
                if (t == 3) {
                    assertEquals(3f, used.toFloatArray()[0], 0, "reuse of step 2");
                }
            }
            CacheStats st = s.stats().withForecastErrors(errors);
            // step 3: |3 − 4| / 4 = 0.25; step 4 is full again (fe−1 + 4·k? no: (4−2) mod 4 ≠ 0 → forecast): |3 − 5| / 5
            assertEquals(0.25, st.meanForecastErrorByStep().get(3), 1e-6);
            assertEquals(0.4, st.meanForecastErrorByStep().get(4), 1e-6);
            assertEquals((0.25 + 0.4) / 2, st.meanForecastErrorByModule().get("x"), 1e-6);
        }
    }

    @Test
    void analyticSigmaFollowsTheEmaOfFirstDifferences() {
        CacheConfig c = CacheConfig.of(CacheMode.HICACHE_ANALYTIC);
        AnalyticSigma a = new AnalyticSigma(c);
        a.observe(Replay.SITE, 2.0);
        a.observe(Replay.SITE, 4.0);
        assertEquals(2.02977831302, a.statistic(Replay.SITE), 1e-10);
        assertEquals(0.445908973807, a.sigma(Replay.SITE), 1e-11);

        AnalyticSigma smooth = new AnalyticSigma(c.toBuilder().analyticSmooth(0.5).build());
        smooth.observe(Replay.SITE, 2.0);
        assertEquals(0.452548179959, smooth.sigma(Replay.SITE), 1e-11, "first call: σ_prev = σ_new");
        smooth.observe(Replay.SITE, 4.0);
        assertEquals(0.449216311507, smooth.sigma(Replay.SITE), 1e-11);

        AnalyticSigma noEma = new AnalyticSigma(c.toBuilder().analyticBeta(0.0).build());
        noEma.observe(Replay.SITE, 2.0);
        noEma.observe(Replay.SITE, 4.0);
        assertEquals(4.0, noEma.statistic(Replay.SITE), 0, "β ≤ 0 follows the latest statistic");
    }

    @Test
    void analyticSessionUsesTheTokenNormOfTheFirstDifference() {
        // features [2 tokens, 2 channels]; F_t = t·[[3,4],[0,0]] → Δ¹F = [[3,4],[0,0]], token norms 5 and 0 → D = 2.5
        CacheConfig c = CacheConfig.of(CacheMode.HICACHE_ANALYTIC).withMaxOrder(1).withInterval(4);
        try (CacheSession s = CacheSession.open(c, 4, m)) {
            for (int t = 0; t < 4; t++) {
                s.beginStep(t);
                NDArray x = s.needsCompute(SiteKey.of(0, "x")) ? m.create(new float[] {3f * t, 4f * t, 0, 0}, new Shape(2, 2)) : null;
                NDArray used = s.resolve(SiteKey.of(5, "total"), x, m);
                if (t == 3) {
                    double sigma = Math.min(1.0, 1.28 / (Math.sqrt(2) * 2.5 + 1e-6));
                    double alpha1 = 2 * sigma * sigma; // x = 1
                    assertEquals(6 + alpha1 * 3, used.toType(DataType.FLOAT64, false).toDoubleArray()[0], 1e-5);
                }
            }
        }
    }
}
