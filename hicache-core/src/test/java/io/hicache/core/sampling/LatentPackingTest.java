package io.hicache.core.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.TensorAssert;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Packing of an arange latent checked against the index formula of docs/models.md §1.6, element by element. */
class LatentPackingTest {
    NDManager m;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    /** latent[b, ch, y, x] = its row-major index in [2, 3, 4, 6]. */
    NDArray arangeLatent() {
        return m.arange(0f, 2 * 3 * 4 * 6).reshape(2, 3, 4, 6);
    }

    @Test
    void packFollowsTheIndexFormula() {
        float[] p = LatentPacking.pack(arangeLatent()).toFloatArray();
        // hand-worked: packed[1, 5, 7]: token 5 = (r 1, c 2), channel 7 = (ch 1, py 1, px 1)
        // → latent[1, 1, 3, 5] = 72 + 24 + 18 + 5
        assertEquals(119f, p[(1 * 6 + 5) * 12 + 7]);
        // packed[0, 0, 2] = (ch 0, py 1, px 0) → latent[0, 0, 1, 0] = 6
        assertEquals(6f, p[2]);
        for (int b = 0; b < 2; b++) {
            for (int r = 0; r < 2; r++) {
                for (int c = 0; c < 3; c++) {
                    for (int ch = 0; ch < 3; ch++) {
                        for (int py = 0; py < 2; py++) {
                            for (int px = 0; px < 2; px++) {
                                float expected = b * 72 + ch * 24 + (2 * r + py) * 6 + (2 * c + px);
                                int at = (b * 6 + r * 3 + c) * 12 + ch * 4 + py * 2 + px;
                                assertEquals(expected, p[at], "b" + b + " r" + r + " c" + c + " ch" + ch);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void unpackInvertsPackInAnyDtype() {
        NDArray latent = arangeLatent();
        NDArray packed = LatentPacking.pack(latent);
        assertArrayEquals(new long[] {2, 6, 12}, packed.getShape().getShape());
        TensorAssert.assertBitEqual(latent, LatentPacking.unpack(packed, 4, 6), "round trip");
        NDArray bf = Precision.cast(latent, TensorType.BF16);
        NDArray back = LatentPacking.unpack(LatentPacking.pack(bf), 4, 6);
        assertEquals(TensorType.BF16, Precision.typeOf(back));
        TensorAssert.assertBitEqual(bf, back, "bf16 round trip");
    }

    @Test
    void rejectsOddSizes() {
        assertThrows(IllegalArgumentException.class, () -> LatentPacking.pack(m.zeros(new Shape(1, 16, 3, 4))));
        NDArray packed = m.zeros(new Shape(1, 6, 64));
        assertThrows(IllegalArgumentException.class, () -> LatentPacking.unpack(packed, 4, 4));
        assertThrows(IllegalArgumentException.class, () -> LatentPacking.unpack(packed, 3, 8));
    }
}
