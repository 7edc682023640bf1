package io.hicache.core.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class CacheConfigTest {
    @Test
    void defaultsAreThePaperHeadline() {
        CacheConfig c = CacheConfig.defaults();
        assertEquals(CacheMode.HICACHE, c.mode());
        assertEquals(7, c.interval());
        assertEquals(2, c.maxOrder());
        assertEquals(3, c.firstEnhance());
        assertEquals(0.5, c.hicacheScale());
        assertEquals(9, c.schedule().fullSteps(50).size());
        assertEquals(50.0 / 9, c.schedule().speedup(50), 1e-12);
    }

    @Test
    void upstreamPerModeDefaults() {
        assertEquals(6, CacheConfig.upstreamDefaults(CacheMode.HICACHE).interval());
        assertEquals(1, CacheConfig.upstreamDefaults(CacheMode.HICACHE).maxOrder());
        assertEquals(2, CacheConfig.upstreamDefaults(CacheMode.TAYLOR).maxOrder());
        assertEquals(1, CacheConfig.upstreamDefaults(CacheMode.ORIGINAL).interval());
    }

    @Test
    void modesParseCaseInsensitivelyWithAliases() {
        assertEquals(CacheMode.HICACHE, CacheMode.parse("hicache"));
        assertEquals(CacheMode.HICACHE, CacheMode.parse("HICACHE"));
        assertEquals(CacheMode.HICACHE_ANALYTIC, CacheMode.parse("HiCache-Analytic"));
        assertEquals(CacheMode.HICACHE_ANALYTIC, CacheMode.parse("hicache_analytic"));
        assertEquals(CacheMode.TAYLOR_SCALED, CacheMode.parse("taylor_scaled"));
        assertEquals(CacheMode.TAYLOR, CacheMode.parse("TaylorSeer"));
        assertEquals(CacheMode.FORA, CacheMode.parse("fora"));
        assertEquals(CacheMode.ORIGINAL, CacheMode.parse("Original"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CacheMode.parse("ToCa"));
        assertTrue(e.getMessage().contains("HiCache-Analytic"), e.getMessage());
    }

    @Test
    void invalidParametersAreRejectedWithTheirName() {
        assertMessage(() -> CacheConfig.defaults().withInterval(0), "interval", "must be >= 1, got 0");
        assertMessage(() -> CacheConfig.defaults().withMaxOrder(9), "maxOrder", "must be in 0..8, got 9");
        assertMessage(() -> CacheConfig.defaults().withMaxOrder(-1), "maxOrder", "must be in 0..8, got -1");
        assertMessage(() -> CacheConfig.defaults().withFirstEnhance(0), "firstEnhance", "must be >= 1, got 0");
        assertMessage(() -> CacheConfig.defaults().withHicacheScale(0), "hicacheScale", "must be in (0, 4.0], got 0.0");
        assertMessage(() -> CacheConfig.defaults().withHicacheScale(4.5), "hicacheScale", "got 4.5");
        assertMessage(() -> CacheConfig.defaults().withHicacheScale(Double.NaN), "hicacheScale", "got NaN");
        assertMessage(() -> CacheConfig.builder(CacheMode.HICACHE).analyticAlpha(-1.0).build(), "analyticAlpha", "> 0");
        assertMessage(() -> CacheConfig.builder(CacheMode.HICACHE).analyticBeta(1.5).build(), "analyticBeta", "<= 1");
        assertMessage(() -> CacheConfig.builder(CacheMode.HICACHE).analyticEps(0.0).build(), "analyticEps", "> 0");
        assertMessage(() -> CacheConfig.builder(CacheMode.HICACHE).analyticQuantile(1.0).build(), "analyticQuantile",
                "(0, 1)");
        assertMessage(() -> CacheConfig.builder(CacheMode.HICACHE).analyticSmooth(1.0).build(), "analyticSmooth",
                "[0, 1)");
    }

    /** The message starts with the JSON property (what a library user or a config file calls it). */
    private static void assertMessage(Runnable r, String property, String problem) {
        CacheConfig.InvalidValue e = assertThrows(CacheConfig.InvalidValue.class, r::run);
        assertEquals(property, e.property());
        assertTrue(e.problem().contains(problem), e.problem());
        assertEquals(property + " " + e.problem(), e.getMessage());
    }

    @Test
    void jsonRoundTrip() throws Exception {
        ObjectMapper json = new ObjectMapper();
        CacheConfig c = CacheConfig.builder(CacheMode.HICACHE_ANALYTIC).interval(5).analyticAlpha(1.1)
                .analyticSigmaMax(0.9).analyticBeta(0.02).analyticEps(1e-5).analyticQuantile(0.95).analyticSmooth(0.3)
                .build();
        String s = json.writeValueAsString(c);
        assertTrue(s.contains("\"mode\":\"HiCache-Analytic\""), s);
        assertEquals(c, json.readValue(s, CacheConfig.class));
        assertEquals(CacheConfig.defaults(), json.readValue("{}", CacheConfig.class));
        assertEquals(CacheMode.TAYLOR, json.readValue("{\"mode\":\"taylor\"}", CacheConfig.class).mode());
        assertThrows(Exception.class, () -> json.readValue("{\"interval\":0}", CacheConfig.class));
    }

    @Test
    void scheduleRule() {
        StepSchedule s = new StepSchedule(CacheMode.HICACHE, 7, 3);
        assertEquals("FFFffffffF", s.pattern(10));
        assertFalse(s.isFull(45));
        StepSchedule original = new StepSchedule(CacheMode.ORIGINAL, 7, 3);
        assertEquals("FFFFFFFFFF", original.pattern(10));
        assertEquals("FffFffFffF", new StepSchedule(CacheMode.TAYLOR, 3, 1).pattern(10));
    }

    @Test
    void tagsNameTheParameters() {
        assertEquals("HiCache_i7_o2_fe3_s0.5", CacheConfig.defaults().tag());
        assertEquals("original", CacheConfig.of(CacheMode.ORIGINAL).tag());
        assertEquals("FORA_i7_fe3", CacheConfig.of(CacheMode.FORA).tag());
    }
}
