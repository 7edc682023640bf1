package io.hicache.qwen.transformer;

import static io.hicache.qwen.transformer.Float64QwenImage.f64;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheSession;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.LatentPacking;
import io.hicache.core.testing.TensorAssert;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The float32 model against {@link Float64QwenImage}, an independent float64 composition of the
 * documented equations: one block (with and without a padded-text mask) and the whole forward of the
 * tiny model on an odd 7 × 9 grid. Tolerance 1e-5 of the output's scale.
 */
class QwenFloat64ReferenceTest {
    static final double TOL = 1e-5;

    @TempDir
    static Path dir;

    static TinyQwen model;
    static WeightStore weights;

    NDManager m;
    Float64QwenImage ref;

    @BeforeAll
    static void load() throws IOException {
        model = new TinyQwen(TinyQwen.write(dir), TensorType.F32);
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
        ref = new Float64QwenImage(model.transformer.config(), weights, m);
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    RotaryEmbedding rope(int textTokens) {
        return model.transformer.rotaryEmbedding(textTokens, List.of(MsRope.Grid.of(TinyQwen.ROWS, TinyQwen.COLS)), m);
    }

    static void assertNear(NDArray expected64, NDArray actual, String what) {
        double rel = TensorAssert.maxRelDiff(expected64, Precision.toFloat32(actual));
        System.out.printf("%s: max rel diff to float64 = %.3g%n", what, rel);
        assertTrue(rel <= TOL, what + ": max rel diff " + rel + " > " + TOL);
    }

    NDArray[] block(int i, NDArray img, NDArray txt, NDArray temb, NDArray textMask) {
        NDArray siluTemb = Precision.cast(Float64QwenImage.silu(f64(temb)), TensorType.F32);
        NDArray mask = QwenImageTransformer.jointKeyMask(textMask, TinyQwen.IMAGE_TOKENS, m);
        return model.transformer.block(i, img, txt, siluTemb, rope((int) txt.getShape().get(1)), mask, SiteKey.COND,
                CacheSession.singleForward(m), new FlopCounter(), m);
    }

    @Test
    void blockMatchesFloat64Composition() {
        NDArray img = m.randomNormal(new Shape(1, TinyQwen.IMAGE_TOKENS, 32));
        NDArray txt = m.randomNormal(new Shape(1, TinyQwen.TEXT_TOKENS, 32));
        NDArray temb = m.randomNormal(new Shape(1, 32));
        NDArray[] out = block(1, img, txt, temb, null);
        NDArray[] expected = ref.block(1, f64(img), f64(txt), f64(temb),
                ref.angles(TinyQwen.TEXT_TOKENS, TinyQwen.ROWS, TinyQwen.COLS), null);
        assertNear(expected[0], out[0], "block image stream");
        assertNear(expected[1], out[1], "block text stream");
    }

    @Test
    void maskedBlockMatchesFloat64Composition() {
        NDArray img = m.randomNormal(new Shape(1, TinyQwen.IMAGE_TOKENS, 32));
        NDArray txt = m.randomNormal(new Shape(1, TinyQwen.TEXT_TOKENS, 32));
        NDArray temb = m.randomNormal(new Shape(1, 32));
        float[] keep = {1, 1, 1, 1, 1, 0, 0};
        NDArray[] out = block(0, img, txt, temb, m.create(keep, new Shape(1, 7)));
        double[] keepJoint = new double[TinyQwen.TEXT_TOKENS + TinyQwen.IMAGE_TOKENS];
        java.util.Arrays.fill(keepJoint, 1);
        keepJoint[5] = 0;
        keepJoint[6] = 0;
        NDArray[] expected = ref.block(0, f64(img), f64(txt), f64(temb),
                ref.angles(TinyQwen.TEXT_TOKENS, TinyQwen.ROWS, TinyQwen.COLS), keepJoint);
        assertNear(expected[0], out[0], "masked block image stream");
        assertNear(expected[1], out[1], "masked block text stream");
        NDArray[] unmasked = block(0, img, txt, temb, null);
        assertTrue(TensorAssert.maxRelDiff(unmasked[0], out[0]) > 1e-4, "the mask hides the padded keys");
    }

    @Test
    void forwardMatchesFloat64Composition() {
        NDArray packed = LatentPacking.pack(model.noise());
        NDArray prompt = model.promptEmbeds();
        float t = 0.8125f;
        NDArray out = model.transformer.forward(packed, prompt, null, new float[] {t}, rope(TinyQwen.TEXT_TOKENS),
                SiteKey.COND, CacheSession.singleForward(m), new FlopCounter());
        assertNear(ref.forward(f64(packed), f64(prompt), t, TinyQwen.ROWS, TinyQwen.COLS, null), out, "forward");
    }

    @Test
    void maskedForwardMatchesFloat64CompositionAndHidesThePadding() {
        NDArray packed = LatentPacking.pack(model.noise());
        NDArray prompt = model.promptEmbeds();
        float t = 0.5f;
        float[] keep = {1, 1, 1, 1, 0, 0, 0};
        NDArray out = model.transformer.forward(packed, prompt, m.create(keep, new Shape(1, 7)), new float[] {t},
                rope(TinyQwen.TEXT_TOKENS), SiteKey.COND, CacheSession.singleForward(m), new FlopCounter());
        assertNear(ref.forward(f64(packed), f64(prompt), t, TinyQwen.ROWS, TinyQwen.COLS,
                new double[] {1, 1, 1, 1, 0, 0, 0}), out, "masked forward");
        NDArray longMask = model.transformer.forward(packed, prompt, m.create(new long[] {1, 1, 1, 1, 0, 0, 0},
                new Shape(1, 7)), new float[] {t}, rope(TinyQwen.TEXT_TOKENS), SiteKey.COND,
                CacheSession.singleForward(m), new FlopCounter());
        TensorAssert.assertBitEqual(out, longMask, "an int64 mask as from a tokenizer");
        NDArray noMask = model.transformer.forward(packed, prompt, null, new float[] {t}, rope(TinyQwen.TEXT_TOKENS),
                SiteKey.COND, CacheSession.singleForward(m), new FlopCounter());
        NDArray allOnes = model.transformer.forward(packed, prompt, m.ones(new Shape(1, 7)), new float[] {t},
                rope(TinyQwen.TEXT_TOKENS), SiteKey.COND, CacheSession.singleForward(m), new FlopCounter());
        TensorAssert.assertBitEqual(noMask, allOnes, "a mask without padding is no mask");
        // padding at the end keeps the other tokens' positions, so the image stream sees the 4-token prompt
        NDArray shortPrompt = prompt.get(new NDIndex(":, :4"));
        NDArray unpadded = model.transformer.forward(packed, shortPrompt, null, new float[] {t}, rope(4), SiteKey.COND,
                CacheSession.singleForward(m), new FlopCounter());
        TensorAssert.assertClose(unpadded, out, 1e-5, 1e-4, "padded + mask vs unpadded");
    }
}
