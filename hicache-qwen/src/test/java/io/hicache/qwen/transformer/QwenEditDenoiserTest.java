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
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.metrics.FlopCounter.Kind;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.sampling.LatentPacking;
import io.hicache.core.sampling.SeededNoise;
import io.hicache.core.testing.TensorAssert;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Qwen-Image-Edit's denoising on the tiny transformer: a condition image of 4 × 5 packed tokens
 * (64 × 80 pixels) appended after the 7 × 9 noise tokens (112 × 144 pixels), as MSRoPE image 1.
 */
class QwenEditDenoiserTest {
    static final int COND_ROWS = 4;
    static final int COND_COLS = 5;
    static final int COND_TOKENS = COND_ROWS * COND_COLS;

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

    static NDArray conditionTokens(long seed) {
        return SeededNoise.gaussian(seed, new Shape(1, COND_TOKENS, 64), model.manager);
    }

    static QwenImageDenoiser.Result run(int steps, CacheConfig cache, boolean cfg, NDArray condition) {
        QwenImageDenoiser.Request r = new QwenImageDenoiser.Request(new QwenImageDenoiser.Prompt(model.promptEmbeds()),
                model.noise(), TinyQwen.WIDTH, TinyQwen.HEIGHT, steps, cache, false,
                cfg ? new QwenImageDenoiser.Prompt(model.negativeEmbeds()) : null, 4,
                new QwenImageDenoiser.Condition(condition, MsRope.Grid.of(COND_ROWS, COND_COLS)));
        return model.denoiser.denoise(r, model.manager);
    }

    /**
     * Two steps, computed here from positions written out by hand: the joint sequence is [text (7);
     * noise (7 × 9); condition (4 × 5)]. Text starts at m = max(⌊7/2⌋, ⌊9/2⌋, ⌊4/2⌋, ⌊5/2⌋) = 4; a
     * noise token (r, c) sits at (0, r − ⌈7/2⌉, c − ⌈9/2⌉) = (0, r − 4, c − 5); a condition token at
     * frame 1, centred on its own grid: (1, r − ⌈4/2⌉, c − ⌈5/2⌉) = (1, r − 2, c − 3). The sigmas
     * are those of the 63 noise tokens alone (diffusers' {@code latents.shape[1]}), and each Euler
     * step uses the first 63 rows of the output.
     */
    @Test
    void twoStepsAreTheForwardsOfNoiseThenConditionWithFrameOnePositions() {
        try (NDManager m = model.manager.newSubManager()) {
            NDArray cond = conditionTokens(31);
            QwenImageDenoiser.Result r = run(2, null, false, cond);

            int text = TinyQwen.TEXT_TOKENS;
            float[] ids = new float[3 * (text + TinyQwen.IMAGE_TOKENS + COND_TOKENS)];
            int at = 0;
            for (int j = 0; j < text; j++) {
                ids[at++] = 4 + j;
                ids[at++] = 4 + j;
                ids[at++] = 4 + j;
            }
            for (int row = 0; row < TinyQwen.ROWS; row++) {
                for (int col = 0; col < TinyQwen.COLS; col++) {
                    ids[at++] = 0;
                    ids[at++] = row - 4;
                    ids[at++] = col - 5;
                }
            }
            for (int row = 0; row < COND_ROWS; row++) {
                for (int col = 0; col < COND_COLS; col++) {
                    ids[at++] = 1;
                    ids[at++] = row - 2;
                    ids[at++] = col - 3;
                }
            }
            RotaryEmbedding rope = RotaryEmbedding.of(m.create(ids, new Shape(ids.length / 3, 3)),
                    model.transformer.config().axesDimsRope(), QwenImageConfig.ROPE_THETA, m);
            // two steps: Qwen-Image's schedule (shift_terminal) needs at least two
            float[] sigmas = model.scheduler.sigmas(2, TinyQwen.IMAGE_TOKENS);
            NDArray x = LatentPacking.pack(model.noise());
            try (CacheSession session = CacheSession.none(2, m)) {
                for (int step = 0; step < 2; step++) {
                    session.beginStep(step);
                    NDArray out = model.transformer.forward(x.concat(cond, 1), model.promptEmbeds(), null,
                            new float[] {model.scheduler.modelTimestep(sigmas[step])}, rope, SiteKey.COND, session,
                            new FlopCounter());
                    assertEquals(new Shape(1, TinyQwen.IMAGE_TOKENS + COND_TOKENS, 64), out.getShape());
                    NDArray v = out.get(":, 0:" + TinyQwen.IMAGE_TOKENS);
                    x = FlowMatchEuler.step(x, v, sigmas[step], sigmas[step + 1]);
                }
                NDArray expected = LatentPacking.unpack(x, TinyQwen.HEIGHT / 8, TinyQwen.WIDTH / 8);
                assertTrue(Float.isFinite(expected.sum().getFloat()), "finite latents");
                TensorAssert.assertBitEqual(expected, r.latents(), "two edit steps");
            }
        }
    }

    /** The velocity depends on the condition tokens (they take part in the attention), the shape does not. */
    @Test
    void theConditionImageChangesTheResult() {
        NDArray a = run(2, null, false, conditionTokens(31)).latents();
        NDArray b = run(2, null, false, conditionTokens(32)).latents();
        assertEquals(model.noise().getShape(), a.getShape());
        assertTrue(TensorAssert.maxAbsDiff(a, b) > 1e-3, "another condition image gives another result");
    }

    @Test
    void originalModeIsBitIdenticalToNoCache() {
        NDArray cond = conditionTokens(31);
        QwenImageDenoiser.Result none = run(6, null, true, cond);
        QwenImageDenoiser.Result original = run(6, CacheConfig.of(CacheMode.ORIGINAL), true, cond);
        TensorAssert.assertBitEqual(none.latents(), original.latents(), "original vs no cache");
        assertEquals(List.of(SiteKey.COND, SiteKey.UNCOND), original.branches());
        assertEquals(0, original.cache().peakBytesHeld(), "original mode allocates no cache");
        assertEquals(none.flops(), original.flops());
    }

    @Test
    void intervalOneIsBitIdenticalToOriginal() {
        NDArray cond = conditionTokens(31);
        QwenImageDenoiser.Result original = run(6, null, true, cond);
        for (CacheMode mode : List.of(CacheMode.HICACHE, CacheMode.TAYLOR, CacheMode.FORA)) {
            QwenImageDenoiser.Result cached = run(6, CacheConfig.of(mode).withInterval(1), true, cond);
            TensorAssert.assertBitEqual(original.latents(), cached.latents(), mode + " with interval 1");
            assertEquals(6, cached.cache().fullSteps());
        }
    }

    /**
     * 10 steps, interval 3, first_enhance 3: full at 0, 1, 2, 5, 8. Over the whole run each block
     * attends and runs its two MLPs only on those 5 steps, in both branches: 5 · 2 · blocks
     * attentions and 5 · 2 · 2 · blocks tanh-GELUs. The FLOPs are those of a forward over 63 + 20
     * image tokens (cond L = 7, uncond L = 3): attention and MLP on the 5 full steps, the embeddings
     * and the modulation gates alone on the 5 forecast steps. The
     * image sites hold the condition tokens too: per branch, max order 2 keeps 3 tensors per site,
     * 2 blocks × (img_attn + img_mlp of 83 tokens + txt_attn + txt_mlp of L tokens) × 32 channels × 4 bytes.
     */
    @Test
    void forecastStepsRunNoAttentionNorMlpInEitherBranch() {
        QwenImageConfig c = model.transformer.config();
        int blocks = c.numLayers();
        Kernels k = Kernels.on(model.manager.getDevice());
        long sdpa = k.calls("sdpa") + k.calls("sdpa_mask");
        long gelu = k.calls("gelu_tanh");
        QwenImageDenoiser.Result r = run(10, CacheConfig.of(CacheMode.HICACHE).withInterval(3), true,
                conditionTokens(31));
        assertEquals(5, r.cache().fullSteps());
        assertEquals(5 * 2 * blocks, k.calls("sdpa") + k.calls("sdpa_mask") - sdpa, "attentions");
        assertEquals(5 * 2 * 2 * blocks, k.calls("gelu_tanh") - gelu, "MLPs");
        long imageTokens = TinyQwen.IMAGE_TOKENS + COND_TOKENS;
        FlopCounter cond = QwenImageTransformer.flopsPerForward(c, imageTokens, TinyQwen.TEXT_TOKENS);
        FlopCounter neg = QwenImageTransformer.flopsPerForward(c, imageTokens, TinyQwen.NEGATIVE_TOKENS);
        FlopCounter condForecast = QwenImageTransformer.flopsPerForecast(c, imageTokens, TinyQwen.TEXT_TOKENS);
        FlopCounter negForecast = QwenImageTransformer.flopsPerForecast(c, imageTokens, TinyQwen.NEGATIVE_TOKENS);
        for (Kind kind : Kind.values()) {
            assertEquals(5 * (cond.get(kind) + neg.get(kind)) + 5 * (condForecast.get(kind) + negForecast.get(kind)),
                    r.flops().get(kind), kind + " FLOPs");
        }
        long condBytes = 3L * 2 * (2 * imageTokens + 2 * TinyQwen.TEXT_TOKENS) * 32 * 4;
        long negBytes = 3L * 2 * (2 * imageTokens + 2 * TinyQwen.NEGATIVE_TOKENS) * 32 * 4;
        assertEquals(condBytes + negBytes, r.cache().bytesHeld(), "both branches' sites over noise + condition tokens");
    }

    @Test
    void misshapenConditionTokensAreRefused() {
        NDArray wrong = SeededNoise.gaussian(3, new Shape(1, COND_TOKENS + 1, 64), model.manager);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(2, null, false, wrong));
        assertTrue(e.getMessage().contains("condition image's tokens must be"), e.getMessage());
    }
}
