package io.hicache.flux;

import io.hicache.core.cache.SiteKey;
import io.hicache.core.cache.CacheSession;
import static io.hicache.flux.Float64Flux.f64;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.LatentPacking;
import io.hicache.core.testing.TensorAssert;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The float32 model against {@link Float64Flux}, an independent float64 composition of the
 * documented equations: one double block, one single block and the whole forward of the tiny model.
 * Tolerance: 2e-6 of the output's scale (float32 rounding over the tiny model's layers measures
 * 7e-8 per block and 2.5e-7 for the whole forward).
 */
class FluxFloat64ReferenceTest {
    static final double TOL = 2e-6;

    @TempDir
    static Path dir;

    static TinyModel model;
    static WeightStore weights;

    NDManager m;
    Float64Flux ref;

    @BeforeAll
    static void load() throws IOException {
        model = new TinyModel(TinyModel.write(dir), TensorType.F32);
        weights = WeightStore.open(dir.resolve("transformer"));
    }

    @AfterAll
    static void close() {
        weights.close();
        model.close();
    }

    @BeforeEach
    void setUp() {
        m = model.manager.newSubManager();
        m.getEngine().setRandomSeed(5);
        ref = new Float64Flux(model.transformer.config(), weights, m);
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    RotaryEmbedding rope() {
        return model.transformer.rotaryEmbedding(FluxPositions.textIds(TinyModel.TEXT_TOKENS, m),
                FluxPositions.imageIds(16, 16, m), m);
    }

    static void assertNear(NDArray expected64, NDArray actual, String what) {
        double rel = TensorAssert.maxRelDiff(expected64, Precision.toFloat32(actual));
        System.out.printf("%s: max rel diff to float64 = %.3g%n", what, rel);
        assertTrue(rel <= TOL, what + ": max rel diff " + rel + " > " + TOL);
    }

    @Test
    void doubleBlockMatchesFloat64Composition() {
        NDArray img = m.randomNormal(new Shape(1, TinyModel.IMAGE_TOKENS, 32));
        NDArray txt = m.randomNormal(new Shape(1, TinyModel.TEXT_TOKENS, 32));
        NDArray temb = m.randomNormal(new Shape(1, 32));
        NDArray siluTemb = Precision.cast(Float64Flux.silu(f64(temb)), TensorType.F32);
        NDArray[] out = model.transformer.doubleBlock(1, img, txt, siluTemb, rope(), SiteKey.COND, CacheSession.singleForward(m), new FlopCounter(), m);
        NDArray[] expected = ref.doubleBlock(1, f64(img), f64(txt), f64(temb), ref.angles(TinyModel.TEXT_TOKENS, 8, 8));
        assertNear(expected[0], out[0], "double block image stream");
        assertNear(expected[1], out[1], "double block text stream");
    }

    @Test
    void singleBlockMatchesFloat64Composition() {
        NDArray z = m.randomNormal(new Shape(1, TinyModel.TEXT_TOKENS + TinyModel.IMAGE_TOKENS, 32));
        NDArray temb = m.randomNormal(new Shape(1, 32));
        NDArray siluTemb = Precision.cast(Float64Flux.silu(f64(temb)), TensorType.F32);
        NDArray out = model.transformer.singleBlock(0, z, siluTemb, rope(), SiteKey.COND, CacheSession.singleForward(m), new FlopCounter(), m);
        assertNear(ref.singleBlock(0, f64(z), f64(temb), ref.angles(TinyModel.TEXT_TOKENS, 8, 8)), out, "single block");
    }

    @Test
    void forwardMatchesFloat64Composition() {
        NDArray packed = LatentPacking.pack(model.noise());
        NDArray prompt = model.promptEmbeds();
        NDArray pooled = model.pooled();
        float t = 0.8125f;
        NDArray out = model.transformer.forward(packed, prompt, pooled, new float[] {t}, new float[] {3.5f}, rope(), SiteKey.COND, CacheSession.singleForward(m),
                new FlopCounter());
        NDArray expected = ref.forward(f64(packed), f64(prompt), f64(pooled), t, 3.5, 8, 8);
        assertNear(expected, out, "forward");
    }
}
