package io.hicache.flux;

import io.hicache.core.cache.SiteKey;
import io.hicache.core.cache.CacheSession;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.LatentPacking;
import io.hicache.core.sampling.SeededNoise;
import io.hicache.core.testing.TensorAssert;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Inputs of the denoising loop: validation, batching, models without guidance embedding. */
class FluxDenoiserTest {
    @TempDir
    static Path dir;

    static TinyModel model;

    @BeforeAll
    static void load() throws IOException {
        model = new TinyModel(TinyModel.write(dir.resolve("dev")), TensorType.F32);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static String rejection(FluxDenoiser.Request r) {
        return assertThrows(IllegalArgumentException.class, () -> model.denoiser.denoise(r, model.manager)).getMessage();
    }

    @Test
    void rejectsInvalidRequestsClearly() {
        NDArray p = model.promptEmbeds();
        NDArray y = model.pooled();
        NDArray n = model.noise();
        NDManager m = model.manager;
        assertTrue(rejection(new FluxDenoiser.Request(p, y, n, 120, 128, 4, 3.5, null)).contains("multiples of 16"));
        assertTrue(rejection(new FluxDenoiser.Request(p, y, n, 128, 0, 4, 3.5, null)).contains("multiples of 16"));
        assertTrue(rejection(new FluxDenoiser.Request(p, y, n, 128, 128, 0, 3.5, null)).contains("steps"));
        String noise = rejection(new FluxDenoiser.Request(p, y, n, 256, 128, 4, 3.5, null));
        assertTrue(noise.contains("initial noise must be [B, 16, 16, 32]"), noise);
        assertTrue(rejection(new FluxDenoiser.Request(p, y, Precision.cast(n, TensorType.BF16), 128, 128, 4, 3.5, null))
                .contains("float32"));
        String prompt = rejection(new FluxDenoiser.Request(m.zeros(new Shape(1, 8, 31)), y, n, 128, 128, 4, 3.5, null));
        assertTrue(prompt.contains("prompt_embeds must be [1, L, 32]"), prompt);
        assertTrue(rejection(new FluxDenoiser.Request(m.zeros(new Shape(2, 8, 32)), y, n, 128, 128, 4, 3.5, null))
                .contains("prompt_embeds"));
        assertTrue(rejection(new FluxDenoiser.Request(p, m.zeros(new Shape(1, 15)), n, 128, 128, 4, 3.5, null))
                .contains("pooled_prompt_embeds must be [1, 16]"));
        assertTrue(rejection(new FluxDenoiser.Request(p, y, n, 128, 128, 4, Double.NaN, null)).contains("guidance"));
    }

    @Test
    void aBatchOfTwoEqualsTwoSeparateRuns() {
        NDManager m = model.manager;
        NDArray p = SeededNoise.gaussian(21, new Shape(2, TinyModel.TEXT_TOKENS, 32), m);
        NDArray y = SeededNoise.gaussian(22, new Shape(2, 16), m);
        NDArray n = SeededNoise.gaussian(23, new Shape(2, 16, 16, 16), m);
        NDArray both = model.denoiser.denoise(new FluxDenoiser.Request(p, y, n, 128, 128, 4, 3.5, null), m).latents();
        for (int b = 0; b < 2; b++) {
            String i = b + ":" + (b + 1);
            NDArray alone = model.denoiser.denoise(new FluxDenoiser.Request(p.get(new NDIndex(i)), y.get(new NDIndex(i)),
                    n.get(new NDIndex(i)), 128, 128, 4, 3.5, null), m).latents();
            TensorAssert.assertClose(alone, both.get(new NDIndex(i)), 1e-5, 1e-5, "sample " + b);
        }
    }

    @Test
    void nonSquareImagesPackRowsOfTheirWidth() {
        NDManager m = model.manager;
        NDArray n = SeededNoise.gaussian(3, new Shape(1, 16, 8, 16), m);
        FluxDenoiser.Result r = model.denoiser.denoise(
                new FluxDenoiser.Request(model.promptEmbeds(), model.pooled(), n, 128, 64, 2, 3.5, null), m);
        assertEquals(new Shape(1, 16, 8, 16), r.latents().getShape());
        assertEquals(2, r.steps().size());
    }

    @Test
    void modelsWithoutGuidanceEmbeddingRunWithoutIt() throws IOException {
        FluxConfig schnell = new FluxConfig(64, 64, 1, 1, 16, 2, 32, 16, false, new int[] {4, 6, 6});
        Path d = dir.resolve("schnell");
        TinyFlux.write(d, schnell, 2, TensorType.F32, false);
        try (TinyModel s = new TinyModel(d, TensorType.F32)) {
            FluxDenoiser.Result r = s.run(2, null);
            assertEquals(new Shape(1, 16, 16, 16), r.latents().getShape());
            try (NDManager m = s.manager.newSubManager()) {
                RotaryEmbedding rope = s.transformer.rotaryEmbedding(FluxPositions.textIds(8, m),
                        FluxPositions.imageIds(16, 16, m), m);
                NDArray x = LatentPacking.pack(s.noise());
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.transformer.forward(x,
                        s.promptEmbeds(), s.pooled(), new float[] {1}, new float[] {3.5f}, rope, SiteKey.COND, CacheSession.singleForward(m), new FlopCounter()));
                assertTrue(e.getMessage().contains("no guidance embedding"), e.getMessage());
                IllegalArgumentException g = assertThrows(IllegalArgumentException.class, () -> model.transformer.forward(x,
                        model.promptEmbeds(), model.pooled(), new float[] {1}, null, rope, SiteKey.COND, CacheSession.singleForward(m), new FlopCounter()));
                assertTrue(g.getMessage().contains("embeds guidance"), g.getMessage());
            }
        }
    }
}
