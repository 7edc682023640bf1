package io.hicache.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.TensorAssert;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Interleaved multi-axis RoPE: angle tables by hand, the kernel against a float64 composition. */
class RotaryEmbeddingTest {
    static final int[] AXES = {4, 6, 6};

    NDManager m;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
        m.getEngine().setRandomSeed(7);
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    /**
     * Angles of the token at positions (1, 2, 3) for axes (4, 6, 6), base 10000, worked by hand:
     * axis 0: 1·10000^0, 1·10000^(−2/4); axis 1: 2·10000^0, 2·10000^(−1/3), 2·10000^(−2/3);
     * axis 2: the same with 3.
     */
    static final double[] ANGLES = {1, 0.01, 2, 0.09283177667, 0.00430886938, 3, 0.13924766501, 0.00646330407};

    @Test
    void unitVectorsRotateByTheirAxisAngle() {
        NDArray ids = m.create(new float[] {1, 2, 3}, new Shape(1, 3));
        try (RotaryEmbedding rope = RotaryEmbedding.of(ids, AXES, 10000, m)) {
            float[] cos = rope.cos().toFloatArray();
            float[] sin = rope.sin().toFloatArray();
            for (int j = 0; j < 8; j++) {
                assertEquals(Math.cos(ANGLES[j]), cos[j], 1e-7, "cos θ_" + j);
                assertEquals(Math.sin(ANGLES[j]), sin[j], 1e-7, "sin θ_" + j);
            }
            // e_{2j} → (cos θ_j, sin θ_j) at (2j, 2j+1); e_{2j+1} → (−sin θ_j, cos θ_j)
            for (int j = 0; j < 8; j++) {
                for (int odd = 0; odd < 2; odd++) {
                    float[] e = new float[16];
                    e[2 * j + odd] = 1;
                    float[] out = rope.apply(m.create(e, new Shape(1, 1, 1, 16))).toFloatArray();
                    float[] expected = new float[16];
                    expected[2 * j] = (float) (odd == 0 ? Math.cos(ANGLES[j]) : -Math.sin(ANGLES[j]));
                    expected[2 * j + 1] = (float) (odd == 0 ? Math.sin(ANGLES[j]) : Math.cos(ANGLES[j]));
                    for (int i = 0; i < 16; i++) {
                        assertEquals(expected[i], out[i], 1e-6, "e_" + (2 * j + odd) + " entry " + i);
                    }
                }
            }
        }
    }

    @Test
    void tokensAtTheOriginAreNotRotated() {
        // FLUX text tokens have ids (0, 0, 0)
        NDArray ids = m.zeros(new Shape(3, 3));
        try (RotaryEmbedding rope = RotaryEmbedding.of(ids, AXES, 10000, m)) {
            NDArray x = m.randomNormal(new Shape(2, 2, 3, 16));
            TensorAssert.assertBitEqual(x, rope.apply(x), "identity rotation");
        }
    }

    @Test
    void kernelMatchesFloat64Composition() {
        NDArray ids = m.randomInteger(0, 40, new Shape(5, 3), DataType.INT32);
        try (RotaryEmbedding rope = RotaryEmbedding.of(ids, AXES, 10000, m)) {
            for (TensorType t : new TensorType[] {TensorType.F32, TensorType.BF16}) {
                NDArray x = Precision.toFloat32(Precision.cast(m.randomNormal(new Shape(2, 3, 5, 16)), t));
                NDArray xd = x.toType(DataType.FLOAT64, false).reshape(2, 3, 5, 8, 2);
                NDArray x0 = xd.get(new NDIndex("..., 0"));
                NDArray x1 = xd.get(new NDIndex("..., 1"));
                NDArray c = rope.cos().toType(DataType.FLOAT64, false);
                NDArray s = rope.sin().toType(DataType.FLOAT64, false);
                NDArray ref = x0.mul(c).sub(x1.mul(s)).expandDims(-1)
                        .concat(x0.mul(s).add(x1.mul(c)).expandDims(-1), -1).reshape(2, 3, 5, 16);
                NDArray out = rope.apply(Precision.cast(x, t));
                assertEquals(t, Precision.typeOf(out), "keeps the dtype");
                double rel = TensorAssert.maxRelDiff(ref, Precision.toFloat32(out));
                double tol = t == TensorType.BF16 ? 1.0 / 64 : 1e-6;
                assertTrue(rel <= tol, t + ": rel error " + rel);
            }
        }
    }

    @Test
    void rejectsMismatchedShapes() {
        NDArray ids = m.zeros(new Shape(4, 3));
        assertThrows(IllegalArgumentException.class, () -> RotaryEmbedding.of(ids, new int[] {4, 6}, 10000, m));
        assertThrows(IllegalArgumentException.class, () -> RotaryEmbedding.of(ids, new int[] {4, 5, 7}, 10000, m));
        try (RotaryEmbedding rope = RotaryEmbedding.of(ids, AXES, 10000, m)) {
            assertThrows(IllegalArgumentException.class, () -> rope.apply(m.zeros(new Shape(1, 1, 5, 16))));
            assertThrows(IllegalArgumentException.class, () -> rope.apply(m.zeros(new Shape(1, 1, 4, 8))));
        }
    }

    @Test
    void kernelCallsAreCounted() {
        NDArray ids = m.zeros(new Shape(2, 3));
        try (RotaryEmbedding rope = RotaryEmbedding.of(ids, AXES, 10000, m)) {
            long before = Kernels.of(ids).calls("rope_interleaved");
            rope.apply(m.zeros(new Shape(1, 1, 2, 16)));
            assertEquals(before + 1, Kernels.of(ids).calls("rope_interleaved"));
        }
    }
}
