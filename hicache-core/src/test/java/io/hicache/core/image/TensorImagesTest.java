package io.hicache.core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Expected bytes follow diffusers' post-processing worked by hand: v = clamp(x/2 + 0.5, 0, 1) in
 * the tensor's dtype, then numpy's round-half-to-even of the float32 product v·255.
 */
class TensorImagesTest {
    /** float32 x with x/2 + 0.5 = 0.25294119 and float32(0.25294119 · 255) = 64.5 exactly. */
    private static final float TIE_64_5 = -0.4941176176071167f;

    @BeforeAll
    static void engine() {
        HiCacheRuntime.bootstrap();
    }

    @Test
    void handWorkedValuesInFloat32() {
        assertEquals(64.5f, (TIE_64_5 / 2f + 0.5f) * 255f, "premise of the half-to-even case");
        try (NDManager m = NDManager.newBaseManager()) {
            // [3,1,4]: R row, G row, B row
            NDArray x = m.create(new float[] {
                -1f, 1f, 0f, TIE_64_5, // R: 0, 255, 127.5 → 128 (even), 64.5 → 64 (even; half-up would give 65)
                1.5f, -3f, -0.2f, 0.2f, // G: clamped to 255, clamped to 0, 0.4·255 = 102, 0.6·255 = 153
                0.00392156862f, -0.99607843f, 0.99607843f, Float.POSITIVE_INFINITY, // B: 127.99999 → 128, 0.49999997 → 0, 254.5 → 254 (even), clamped 255
            }, new Shape(3, 1, 4));
            RgbImage img = TensorImages.toImage(x);
            assertEquals(4, img.width());
            assertEquals(1, img.height());
            int[][] expected = {{0, 255, 128, 64}, {255, 0, 102, 153}, {128, 0, 254, 255}};
            for (int c = 0; c < 3; c++) {
                for (int px = 0; px < 4; px++) {
                    assertEquals(expected[c][px], img.sample(px, 0, c), "channel " + c + " pixel " + px);
                }
            }
        }
    }

    /**
     * bf16 x = 0.98828125 = 253/256: x/2 + 0.5 = 509/512 lies halfway between the bf16 neighbours
     * 254/256 and 255/256 and rounds to the even 254/256; 254/256 · 255 = 253.0078 → 253, where the
     * same value in float32 gives 509/512 · 255 = 253.506 → 254 (what torch does for each dtype).
     */
    @Test
    void bf16IsPostProcessedInBf16() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray f32 = m.create(new float[] {0.98828125f, -1f, 0f, 0.5f, 0.25f, -0.75f}, new Shape(1, 3, 1, 2));
            NDArray bf16 = Precision.cast(f32, TensorType.BF16);
            RgbImage fromBf16 = TensorImages.toImage(bf16);
            RgbImage fromF32 = TensorImages.toImage(f32);
            assertEquals(253, fromBf16.sample(0, 0, 0));
            assertEquals(254, fromF32.sample(0, 0, 0));
            // the other values are exact in both: 0, 128, 0.75·255 = 191.25 → 191, 0.625·255 = 159.375 → 159, 0.125·255 = 31.875 → 32
            int[] rest = {0, 128, 191, 159, 32};
            for (int i = 1; i < 6; i++) {
                assertEquals(rest[i - 1], fromBf16.sample(i % 2, 0, i / 2), "bf16 value " + i);
                assertEquals(rest[i - 1], fromF32.sample(i % 2, 0, i / 2), "f32 value " + i);
            }
            assertEquals(TensorType.BF16, Precision.typeOf(bf16), "input untouched");
        }
    }

    /**
     * f16 x = −2⁻²⁴: in float32 x/2 + 0.5 = 0.5 − 2⁻²⁵ and ·255 = 127.49999 → 127; in f16, x/2
     * underflows to −0 and −0 + 0.5 = 0.5 → 127.5 → 128.
     */
    @Test
    void f16IsPostProcessedInF16() {
        try (NDManager m = NDManager.newBaseManager()) {
            float x = -0x1p-24f;
            NDArray f32 = m.full(new Shape(3, 1, 1), x);
            assertEquals(127, TensorImages.toImage(f32).sample(0, 0, 0));
            assertEquals(128, TensorImages.toImage(f32.toType(DataType.FLOAT16, false)).sample(0, 0, 0));
        }
    }

    @Test
    void batchesSplitIntoImagesInOrder() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray first = m.full(new Shape(1, 3, 2, 3), -1f);
            NDArray second = m.full(new Shape(1, 3, 2, 3), 1f);
            List<RgbImage> images = TensorImages.toImages(first.concat(second, 0));
            assertEquals(List.of(RgbImage.filled(3, 2, 0, 0, 0), RgbImage.filled(3, 2, 255, 255, 255)), images);
        }
    }

    @Test
    void channelPlanesBecomeInterleavedPixels() {
        try (NDManager m = NDManager.newBaseManager()) {
            // [3,2,2]: pixel (x,y) gets R = −1 + x, G = −1 + y, B = 1
            NDArray x = m.create(new float[] {-1, 0, -1, 0, -1, -1, 0, 0, 1, 1, 1, 1}, new Shape(3, 2, 2));
            RgbImage img = TensorImages.toImage(x);
            assertEquals(0x0000FF, img.rgb(0, 0));
            assertEquals(0x8000FF, img.rgb(1, 0));
            assertEquals(0x0080FF, img.rgb(0, 1));
            assertEquals(0x8080FF, img.rgb(1, 1));
            assertEquals(img, TensorImages.toImage(x.expandDims(0)));
        }
    }

    @Test
    void rejectsWhatIsNotAFiniteFloatImage() {
        try (NDManager m = NDManager.newBaseManager()) {
            assertThrows(IllegalArgumentException.class, () -> TensorImages.toImage(m.zeros(new Shape(4, 2, 2))));
            assertThrows(IllegalArgumentException.class, () -> TensorImages.toImage(m.zeros(new Shape(2, 3, 2, 2))));
            assertThrows(IllegalArgumentException.class, () -> TensorImages.toImages(m.zeros(new Shape(3, 2, 2))));
            assertThrows(IllegalArgumentException.class, () -> TensorImages.toImage(m.zeros(new Shape(3, 2, 2), DataType.INT32)));
            NDArray nan = m.create(new float[] {0, Float.NaN, 0}, new Shape(3, 1, 1));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TensorImages.toImage(nan));
            assertEquals("image tensor has NaN at channel 1, pixel (0, 0)", e.getMessage());
        }
    }

    @Test
    void imagesToTensorAsDiffusersPreprocesses() {
        try (NDManager m = NDManager.newBaseManager()) {
            RgbImage a = RgbImage.of(2, 1, new byte[] {0, (byte) 255, (byte) 128, 10, 20, 30});
            RgbImage b = RgbImage.of(2, 1, new byte[] {1, 2, 3, 4, 5, 6});
            NDArray x = TensorImages.toTensor(List.of(a, b), m);
            assertEquals(new Shape(2, 3, 1, 2), x.getShape());
            assertEquals(DataType.FLOAT32, x.getDataType());
            float[] v = x.toFloatArray();
            // image a, planes R, G, B, each pixel 0 then pixel 1: R = (0, 10), G = (255, 20), B = (128, 30)
            assertEquals(-1f, v[0]);
            assertEquals(2f * (10 / 255f) - 1f, v[1]);
            assertEquals(1f, v[2]);
            assertEquals(0.003921628f, v[4], 1e-9f); // 2·128/255 − 1 = 1/255
            assertEquals(2f * (6 / 255f) - 1f, v[11]); // image b, B plane, pixel 1
            assertEquals(List.of(a, b), TensorImages.toImages(x), "and back, byte for byte");
            assertThrows(IllegalArgumentException.class,
                    () -> TensorImages.toTensor(List.of(a, RgbImage.filled(1, 2, 0, 0, 0)), m));
        }
    }

    @Test
    void everyByteSurvivesTheRoundTrip() {
        byte[] all = new byte[3 * 256];
        for (int i = 0; i < all.length; i++) {
            all[i] = (byte) (i / 3);
        }
        RgbImage image = RgbImage.of(256, 1, all);
        try (NDManager m = NDManager.newBaseManager()) {
            assertEquals(image, TensorImages.toImage(TensorImages.toTensor(List.of(image), m)));
        }
    }
}
