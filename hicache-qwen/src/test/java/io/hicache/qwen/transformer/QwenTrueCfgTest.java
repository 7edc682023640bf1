package io.hicache.qwen.transformer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.cache.CacheSession;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.diffusion.Guidance;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.sampling.LatentPacking;
import io.hicache.core.testing.TensorAssert;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Qwen-Image's true CFG: v̄ = v_neg + s·(v_cond − v_neg), rescaled per token to ‖v_cond‖, on only with
 * a negative prompt and s > 1; the scheduler's Qwen sigmas with shift_terminal.
 */
class QwenTrueCfgTest {
    @TempDir
    static Path dir;

    static TinyQwen model;

    @BeforeAll
    static void load() throws Exception {
        model = new TinyQwen(TinyQwen.write(dir), TensorType.F32);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /**
     * Token 0: cond (3, 4), neg (1, 0), s = 4 → v̄ = (9, 16), ‖v̄‖ = √337, ‖cond‖ = 5 → v̄·5/√337.
     * Token 1: cond (0, 2), neg (0, 1) → v̄ = (0, 5) → (0, 2).
     */
    @Test
    void rescaleMatchesAHandComputation() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray cond = m.create(new float[] {3, 4, 0, 2}, new Shape(1, 2, 2));
            NDArray neg = m.create(new float[] {1, 0, 0, 1}, new Shape(1, 2, 2));
            Guidance g = QwenImageDenoiser.guidance(4);
            assertTrue(g.rescaleToConditionalNorm());
            double r = 5 / Math.sqrt(337);
            float[] v = g.combine(cond, neg).toFloatArray();
            assertEquals(9 * r, v[0], 1e-6);
            assertEquals(16 * r, v[1], 1e-6);
            assertEquals(0, v[2], 1e-6);
            assertEquals(2, v[3], 1e-6);
        }
    }

    /** diffusers' rule: CFG only with a negative prompt and s > 1. */
    @Test
    void cfgRunsOnlyWithANegativePromptAndScaleAboveOne() {
        CacheConfig hicache = CacheConfig.of(CacheMode.HICACHE).withInterval(3);
        QwenImageDenoiser.Result plain = model.run(6, hicache, false, 4);
        assertEquals(List.of(SiteKey.COND), plain.branches());
        TensorAssert.assertBitEqual(plain.latents(), model.run(6, hicache, true, 1).latents(), "s = 1 runs cond only");
        TensorAssert.assertBitEqual(plain.latents(), model.run(6, hicache, false, 1).latents(), "no negative prompt");
        assertEquals(List.of(SiteKey.COND, SiteKey.UNCOND), model.run(2, null, true, 4).branches());
    }

    /** Two plain forwards per step (prompts of different lengths), the rescaled guidance and Euler in double. */
    @Test
    void matchesAnIndependentCompositionOfTwoForwards() {
        int steps = 5;
        double s = 4;
        QwenImageDenoiser.Result guided = model.run(steps, null, true, s);
        float[] sigmas = model.scheduler.sigmas(steps, TinyQwen.IMAGE_TOKENS);
        try (NDManager m = model.manager.newSubManager()) {
            List<MsRope.Grid> grid = List.of(MsRope.Grid.of(TinyQwen.ROWS, TinyQwen.COLS));
            RotaryEmbedding condRope = model.transformer.rotaryEmbedding(TinyQwen.TEXT_TOKENS, grid, m);
            RotaryEmbedding negRope = model.transformer.rotaryEmbedding(TinyQwen.NEGATIVE_TOKENS, grid, m);
            NDArray packed = LatentPacking.pack(model.noise());
            double[] x = TensorAssert.values(packed);
            int channels = 64;
            for (int i = 0; i < steps; i++) {
                NDArray xt = m.create(toFloat(x), packed.getShape());
                float[] t = {model.scheduler.modelTimestep(sigmas[i])};
                double[] cond = TensorAssert.values(model.transformer.forward(xt, model.promptEmbeds(), null, t, condRope,
                        SiteKey.COND, CacheSession.singleForward(m), new FlopCounter()));
                double[] neg = TensorAssert.values(model.transformer.forward(xt, model.negativeEmbeds(), null, t,
                        negRope, SiteKey.COND, CacheSession.singleForward(m), new FlopCounter()));
                for (int token = 0; token < x.length / channels; token++) {
                    double condNorm = 0;
                    double guidedNorm = 0;
                    double[] v = new double[channels];
                    for (int ch = 0; ch < channels; ch++) {
                        int j = token * channels + ch;
                        v[ch] = neg[j] + s * (cond[j] - neg[j]);
                        condNorm += cond[j] * cond[j];
                        guidedNorm += v[ch] * v[ch];
                    }
                    double scale = Math.sqrt(condNorm / guidedNorm);
                    for (int ch = 0; ch < channels; ch++) {
                        x[token * channels + ch] += ((double) sigmas[i + 1] - sigmas[i]) * v[ch] * scale;
                    }
                }
            }
            NDArray expected = LatentPacking.unpack(m.create(toFloat(x), packed.getShape()), TinyQwen.HEIGHT / 8,
                    TinyQwen.WIDTH / 8);
            TensorAssert.assertClose(expected, guided.latents(), 1e-5, 1e-5, "true CFG vs two forwards");
            assertTrue(TensorAssert.maxRelDiff(model.run(steps, null, false, 1).latents(), guided.latents()) > 1e-3,
                    "guidance changes the result");
        }
    }

    /** docs/qwen-image.md §2: Qwen 1328² (6889 tokens), 50 steps; the last non-zero sigma is shift_terminal. */
    @Test
    void schedulerSigmasWithShiftTerminal() {
        FlowMatchEuler scheduler = FlowMatchEuler.fromJson(TinyQwenImage.SCHEDULER_CONFIG);
        assertEquals(0.834325, scheduler.mu(6889), 1e-6);
        float[] s = scheduler.sigmas(50, 6889);
        float[] head = {1f, 0.990988f, 0.981768f, 0.972332f};
        float[] tail = {0.145148f, 0.105449f, 0.063783f, 0.02f, 0f};
        for (int i = 0; i < head.length; i++) {
            assertEquals(head[i], s[i], 2e-6, "sigma " + i);
        }
        for (int i = 0; i < tail.length; i++) {
            assertEquals(tail[i], s[46 + i], 2e-6, "sigma " + (46 + i));
        }
        float[] s1024 = scheduler.sigmas(50, 4096);
        assertEquals(0.058476f, s1024[48], 2e-6);
        assertEquals(0.02f, s1024[49], 2e-6);
    }

    @Test
    void badRequestsAreRefusedWithTheReason() {
        QwenImageDenoiser.Prompt p = new QwenImageDenoiser.Prompt(model.promptEmbeds());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.denoiser.denoise(
                new QwenImageDenoiser.Request(p, model.noise(), 150, TinyQwen.HEIGHT, 2, null), model.manager));
        assertTrue(e.getMessage().contains("multiples of 16"), e.getMessage());
        NDArray wrongWidth = model.manager.zeros(new Shape(1, 5, 24));
        e = assertThrows(IllegalArgumentException.class, () -> model.denoiser.denoise(new QwenImageDenoiser.Request(p,
                model.noise(), TinyQwen.WIDTH, TinyQwen.HEIGHT, 2, null, false,
                new QwenImageDenoiser.Prompt(model.manager.zeros(new Shape(1, 5, 7))), 4), model.manager));
        assertTrue(e.getMessage().contains("negative_prompt_embeds"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> model.denoiser.denoise(new QwenImageDenoiser.Request(
                new QwenImageDenoiser.Prompt(wrongWidth, model.manager.ones(new Shape(1, 4))), model.noise(),
                TinyQwen.WIDTH, TinyQwen.HEIGHT, 2, null), model.manager));
        assertTrue(e.getMessage().contains("mask"), e.getMessage());
    }

    static float[] toFloat(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            f[i] = (float) x[i];
        }
        return f;
    }
}
