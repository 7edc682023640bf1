package io.hicache.qwen.vae;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.SeededNoise;
import io.hicache.core.testing.TensorAssert;
import io.hicache.core.weights.CheckpointMismatchException;
import io.hicache.core.weights.RenamedWeightSource;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one-frame Qwen-Image VAE encoder: layout, the downsampler's padding, shapes, a float64 3-D
 * reference of encode and of decode∘encode, the latent normalisation and bad input.
 */
class QwenVaeEncoderTest {
    /**
     * float32 against float64: about a dozen convolution layers with fan-in up to 32·9 = 288, each
     * output a float32 sum whose rounding is ~√288·2⁻²⁴ ≈ 1e-6 of its scale at worst, and the RMS
     * norms keep activations O(1); 1e-5 of the output's scale leaves a margin of a few times that
     * without letting a wrong tap, padding side or channel split through (those move values by O(1)).
     */
    static final double F32_TOL = 1e-5;

    @TempDir
    static Path dir;

    static NDManager manager;
    static QwenVaeEncoder encoder;
    static QwenVaeDecoder decoder;

    @BeforeAll
    static void load() throws IOException {
        manager = NDManager.newBaseManager();
        TinyQwenVae.write(dir, TinyQwenVae.config(), 11, TensorType.F32);
        encoder = QwenVaeEncoder.load(dir, TensorType.F32, manager);
        decoder = QwenVaeDecoder.load(dir, TensorType.F32, manager);
    }

    @AfterAll
    static void close() {
        encoder.close();
        decoder.close();
        manager.close();
    }

    /** Images in [−1, 1], as the encoder gets them: tanh of seeded Gaussian noise. */
    static NDArray images(NDManager m, long seed, long... shape) {
        return SeededNoise.gaussian(seed, new Shape(shape), m).tanh();
    }

    @Test
    void realEncoderSideHasTheDocumentedTensors() {
        QwenVaeConfig c = QwenVaeConfig.fromJson(QwenVaeDecoderTest.REAL);
        ParameterSpec enc = QwenVaeLayout.encoderSide(c);
        ParameterSpec dec = QwenVaeLayout.decoderSide(c);
        // encoder + quant_conv = the whole file less the decoder side: 126,892,531 − 73,295,603 (docs/qwen-image.md §7)
        assertEquals(53_596_928L, enc.count());
        assertEquals(194, enc.size() + dec.size());
        Set<String> both = new HashSet<>(enc.shapes().keySet());
        both.retainAll(dec.shapes().keySet());
        assertTrue(both.isEmpty(), "the sides share no tensor: " + both);
        assertTrue(enc.shapes().keySet().stream().allMatch(n -> n.startsWith("encoder.") || n.startsWith("quant_conv.")));
        assertArrayEquals(new long[] {96, 3, 3, 3, 3}, enc.shapes().get("encoder.conv_in.weight"));
        assertArrayEquals(new long[] {96, 96, 3, 3}, enc.shapes().get("encoder.down_blocks.2.resample.1.weight"));
        assertArrayEquals(new long[] {192, 96, 1, 1, 1}, enc.shapes().get("encoder.down_blocks.3.conv_shortcut.weight"));
        assertArrayEquals(new long[] {192, 192, 3, 1, 1}, enc.shapes().get("encoder.down_blocks.5.time_conv.weight"));
        assertArrayEquals(new long[] {384, 384, 3, 3}, enc.shapes().get("encoder.down_blocks.8.resample.1.weight"));
        assertFalse(enc.shapes().containsKey("encoder.down_blocks.2.time_conv.weight"), "temperal_downsample[0] is false");
        assertArrayEquals(new long[] {384, 384, 3, 3, 3}, enc.shapes().get("encoder.down_blocks.10.conv2.weight"));
        assertFalse(enc.shapes().containsKey("encoder.down_blocks.11.norm1.gamma"), "11 down blocks: 4·2 residual + 3 resamplers");
        assertArrayEquals(new long[] {32, 384, 3, 3, 3}, enc.shapes().get("encoder.conv_out.weight"));
        assertArrayEquals(new long[] {32, 32, 1, 1, 1}, enc.shapes().get("quant_conv.weight"));
    }

    /** The encoder view presents the last temporal taps and hides time_conv and the decoder. */
    @Test
    void encoderWeightsAreTheLastTaps() throws IOException {
        try (WeightStore store = WeightStore.open(dir); NDManager m = manager.newSubManager()) {
            OneFrameWeights view = OneFrameWeights.encoder(store, TinyQwenVae.config());
            String conv = "encoder.conv_in.weight";
            assertArrayEquals(new long[] {8, 3, 3, 3}, view.shape(conv));
            TensorAssert.assertBitEqual(store.get(conv, TensorType.F32, m).get(new NDIndex(":, :, 2")),
                    view.get(conv, TensorType.F32, m), "3×3×3 kernel: tap 2");
            TensorAssert.assertBitEqual(store.get("quant_conv.weight", TensorType.F32, m).get(new NDIndex(":, :, 0")),
                    view.get("quant_conv.weight", TensorType.F32, m), "1×1×1 kernel: tap 0");
            assertTrue(store.contains("encoder.down_blocks.3.time_conv.weight"));
            assertTrue(view.names().stream().allMatch(n -> !n.contains("time_conv")
                    && (n.startsWith("encoder.") || n.startsWith("quant_conv."))));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> view.shape("decoder.conv_in.weight"));
            assertTrue(e.getMessage().contains("no encoder tensor 'decoder.conv_in.weight'"), e.getMessage());
        }
    }

    /**
     * A 4×4 image x[i, j] = 10·i + j through one stride-2 3×3 filter that is 1 at one tap: tap (u, v)
     * makes output (i, j) = x[2i + u, 2j + v], zero past the last row or column (the padding is on the
     * right and at the bottom only). Tap (0, 0): x[0,0], x[0,2], x[2,0], x[2,2] = 0, 2, 20, 22. Tap (2, 2):
     * x[2,2] = 22 and three reads of the padding. Tap (0, 2): x[0,2] = 2, x[0,4] = 0, x[2,2] = 22, 0.
     * With a symmetric padding of 1 tap (0, 0) would give 0, 0, 0, 11 instead.
     */
    @Test
    void downsamplingPadsRightAndBottom() {
        try (NDManager m = manager.newSubManager()) {
            float[] pixels = new float[16];
            for (int i = 0; i < 16; i++) {
                pixels[i] = 10 * (i / 4) + i % 4;
            }
            NDArray x = m.create(pixels, new Shape(1, 1, 4, 4));
            assertArrayEquals(new float[] {0, 2, 20, 22}, downsampleWithTap(m, x, 0, 0));
            assertArrayEquals(new float[] {22, 0, 0, 0}, downsampleWithTap(m, x, 2, 2));
            assertArrayEquals(new float[] {2, 0, 22, 0}, downsampleWithTap(m, x, 0, 2));
            NDArray odd = m.zeros(new Shape(1, 1, 5, 7));
            assertArrayEquals(new long[] {1, 1, 2, 3}, QwenVaeEncoder.downsample(odd, tap(m, 1, 1), m.zeros(new Shape(1)))
                    .getShape().getShape(), "⌊5/2⌋ × ⌊7/2⌋");
        }
    }

    private static float[] downsampleWithTap(NDManager m, NDArray x, int row, int column) {
        NDArray y = QwenVaeEncoder.downsample(x, tap(m, row, column), m.zeros(new Shape(1)));
        assertArrayEquals(new long[] {1, 1, 2, 2}, y.getShape().getShape());
        return y.toFloatArray();
    }

    private static NDArray tap(NDManager m, int row, int column) {
        float[] kernel = new float[9];
        kernel[3 * row + column] = 1;
        return m.create(kernel, new Shape(1, 1, 3, 3));
    }

    @Test
    void encodeMatchesAFloat64ThreeDimensionalReference() throws IOException {
        try (WeightStore store = WeightStore.open(dir); NDManager m = manager.newSubManager()) {
            NDArray x = images(m, 21, 2, 3, 48, 40);
            NDArray latents = encoder.encode(x);
            assertArrayEquals(new long[] {2, 16, 6, 5}, latents.getShape().getShape());
            assertEquals(TensorType.F32, Precision.typeOf(latents));
            NDArray expected = new Float64QwenVae(TinyQwenVae.config(), store, m).encode(x);
            double rel = TensorAssert.maxRelDiff(expected, latents);
            System.out.printf("VAE encode: max rel diff to float64 = %.3g%n", rel);
            assertTrue(rel < F32_TOL, "max rel diff " + rel);
            // the two batch entries are encoded independently
            NDArray second = encoder.encode(x.get(new NDIndex("1:2")));
            TensorAssert.assertClose(latents.get(new NDIndex("1:2")), second, 1e-5, 1e-5, "batch entry 1 alone");
        }
    }

    /** 200 × 256 is 25 × 8 by 32 × 8: three halvings give 25 × 32 latents (odd sides are fine unpacked). */
    @Test
    void nonSquareImagesGiveAnEighthOfTheirSides() {
        try (NDManager m = manager.newSubManager()) {
            NDArray latents = encoder.encode(images(m, 22, 1, 3, 200, 256));
            assertArrayEquals(new long[] {1, 16, 25, 32}, latents.getShape().getShape());
            NDArray tall = encoder.encode(images(m, 23, 2, 3, 64, 24));
            assertArrayEquals(new long[] {2, 16, 8, 3}, tall.getShape().getShape());
            for (double v : TensorAssert.values(latents)) {
                assertTrue(Double.isFinite(v), "latent " + v);
            }
        }
    }

    /**
     * The condition tokens follow the transformer's 2×2 packing: token r·(w/2) + c, channel
     * ch·4 + py·2 + px holds latent[ch, 2r + py, 2c + px] (docs/model-architectures.md §1.5).
     * 48 × 80 → latents 6 × 10 → 3 × 5 = 15 tokens of 64.
     */
    @Test
    void conditionTokensArePackedLatents() {
        try (NDManager m = manager.newSubManager()) {
            NDArray x = images(m, 24, 1, 3, 48, 80);
            NDArray tokens = encoder.encodeTokens(x);
            assertArrayEquals(new long[] {1, 15, 64}, tokens.getShape().getShape());
            double[] t = TensorAssert.values(tokens);
            double[] l = TensorAssert.values(encoder.encode(x));
            int h = 6;
            int w = 10;
            for (int r = 0; r < h / 2; r++) {
                for (int c = 0; c < w / 2; c++) {
                    for (int ch = 0; ch < 16; ch++) {
                        for (int py = 0; py < 2; py++) {
                            for (int px = 0; px < 2; px++) {
                                double packed = t[(r * (w / 2) + c) * 64 + ch * 4 + py * 2 + px];
                                double latent = l[(ch * h + 2 * r + py) * w + 2 * c + px];
                                assertEquals(latent, packed, 0, "token (" + r + ", " + c + ") channel " + ch);
                            }
                        }
                    }
                }
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> encoder.encodeTokens(images(m, 25, 1, 3, 200, 256)));
            assertTrue(e.getMessage().contains("multiples of 16"), e.getMessage());
        }
    }

    /**
     * (μ − mean_c)/std_c by hand: μ = mean_c gives 0, μ = mean_c + 2·std_c gives 2; denormalise undoes
     * normalise to float32 rounding (two roundings of O(1) values: 1e-6 absolute is a few ulps of
     * |μ| ≲ 3).
     */
    @Test
    void normalisationIsInvertedByDenormalisation() {
        QwenVaeConfig c = TinyQwenVae.config();
        LatentNormalization n = new LatentNormalization(c);
        double[] mean = c.latentsMean();
        double[] std = c.latentsStd();
        try (NDManager m = manager.newSubManager()) {
            float[] mu = new float[32];
            for (int ch = 0; ch < 16; ch++) {
                mu[2 * ch] = (float) mean[ch];
                mu[2 * ch + 1] = (float) (mean[ch] + 2 * std[ch]);
            }
            float[] x = n.normalize(m.create(mu, new Shape(1, 16, 1, 2))).toFloatArray();
            for (int ch = 0; ch < 16; ch++) {
                assertEquals(0, x[2 * ch], 1e-6, "mean of channel " + ch);
                assertEquals(2, x[2 * ch + 1], 1e-6, "mean + 2·std of channel " + ch);
            }
            NDArray any = SeededNoise.gaussian(26, new Shape(2, 16, 3, 4), m).mul(2);
            TensorAssert.assertClose(any, n.denormalize(n.normalize(any)), 1e-6, 0, "denormalise ∘ normalise");
            TensorAssert.assertClose(any, n.normalize(n.denormalize(any)), 1e-6, 0, "normalise ∘ denormalise");
            assertThrows(IllegalArgumentException.class, () -> n.normalize(m.zeros(new Shape(1, 8, 2, 2))));
        }
    }

    /**
     * decode(encode(x)) is no identity for random weights, but it must be the composition of the two
     * float64 references. The decoder takes the encoder's normalised output, so this also checks that
     * the two sides agree on the transformer's space. Tolerance: the encoder's ~1e-6 relative error
     * goes through the decoder's ~20 layers of O(1) gain plus the decoder's own float32 rounding, so
     * 1e-5 of the image's scale bounds both with room, and a denormalisation mismatch (O(std) = O(1)
     * on the latents) would break it.
     */
    @Test
    void decodeOfEncodeMatchesTheFloat64Composition() throws IOException {
        try (WeightStore store = WeightStore.open(dir); NDManager m = manager.newSubManager()) {
            NDArray x = images(m, 27, 1, 3, 32, 48);
            NDArray back = decoder.decode(encoder.encode(x));
            assertArrayEquals(new long[] {1, 3, 32, 48}, back.getShape().getShape());
            assertEquals(TensorType.F32, Precision.typeOf(back));
            Float64QwenVae reference = new Float64QwenVae(TinyQwenVae.config(), store, m);
            NDArray expected = reference.decode(reference.encode(x));
            double rel = TensorAssert.maxRelDiff(expected, back);
            System.out.printf("VAE decode∘encode: max rel diff to float64 = %.3g%n", rel);
            assertTrue(rel < F32_TOL, "max rel diff " + rel);
            double largest = 0;
            for (double v : TensorAssert.values(back)) {
                assertTrue(Double.isFinite(v) && v >= -1 && v <= 1, "decoded value " + v);
                largest = Math.max(largest, Math.abs(v));
            }
            assertTrue(largest > 0.05, "a non-trivial image: " + largest);
        }
    }

    /**
     * bfloat16 weights and activations against the float64 reference: bf16 keeps 8 significant bits
     * (rounding 2⁻⁹ per value), and a dozen rounded layers stay within 4·2⁻⁶ of the output's scale, the
     * bound the FLUX VAE tests use for the same depth.
     */
    @Test
    void bfloat16EncodeStaysCloseToTheReference() throws IOException {
        try (QwenVaeEncoder half = QwenVaeEncoder.load(dir, TensorType.BF16, manager);
                WeightStore store = WeightStore.open(dir); NDManager m = manager.newSubManager()) {
            NDArray x = images(m, 28, 1, 3, 32, 24);
            NDArray latents = half.encode(x);
            assertEquals(TensorType.F32, Precision.typeOf(latents));
            double rel = TensorAssert.maxRelDiff(new Float64QwenVae(TinyQwenVae.config(), store, m).encode(x), latents);
            System.out.printf("VAE encode bf16: max rel diff to float64 = %.3g%n", rel);
            assertTrue(rel < 4.0 / 64, "max rel diff " + rel);
        }
    }

    @Test
    void badImagesAreRefusedWithTheirShape() {
        try (NDManager m = manager.newSubManager()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> encoder.encode(m.zeros(new Shape(1, 3, 204, 256))));
            assertTrue(e.getMessage().contains("multiples of 8") && e.getMessage().contains("[1, 3, 204, 256]"),
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> encoder.encode(m.zeros(new Shape(1, 4, 64, 64))));
            assertTrue(e.getMessage().contains("[batch, 3, height, width]") && e.getMessage().contains("[1, 4, 64, 64]"),
                    e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> encoder.encode(m.zeros(new Shape(3, 64, 64))));
            assertThrows(IllegalArgumentException.class, () -> encoder.encode(m.zeros(new Shape(1, 3, 0, 64))));
            assertThrows(IllegalArgumentException.class,
                    () -> encoder.encode(m.zeros(new Shape(1, 3, 64, 64), DataType.INT32)));
        }
    }

    /**
     * The encoder loads only when asked for: a file without the encoder still gives a decoder, and
     * asking it for the encoder names what is missing.
     */
    @Test
    void aMissingEncoderTensorIsNamed() throws IOException {
        try (WeightStore store = WeightStore.open(dir); NDManager m = manager.newSubManager()) {
            WeightSource decoderOnly = only(store, n -> !n.startsWith("encoder.") && !n.startsWith("quant_conv."));
            try (QwenVaeDecoder d = QwenVaeDecoder.load(decoderOnly, TinyQwenVae.config(), TensorType.F32, m)) {
                assertArrayEquals(new long[] {1, 3, 16, 16}, d.decode(m.zeros(new Shape(1, 16, 2, 2))).getShape().getShape());
            }
            CheckpointMismatchException all = assertThrows(CheckpointMismatchException.class,
                    () -> QwenVaeEncoder.load(decoderOnly, TinyQwenVae.config(), TensorType.F32, m));
            assertTrue(all.missing().contains("encoder.conv_in.weight") && all.missing().contains("quant_conv.weight"));
            assertTrue(all.getMessage().contains("VAE encoder"), all.getMessage());

            WeightSource oneShort = only(store, n -> !n.equals("encoder.down_blocks.2.conv_shortcut.weight"));
            CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                    () -> QwenVaeEncoder.load(oneShort, TinyQwenVae.config(), TensorType.F32, m));
            assertEquals(List.of("encoder.down_blocks.2.conv_shortcut.weight"), e.missing());
            assertTrue(e.getMessage().contains("encoder.down_blocks.2.conv_shortcut.weight"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> QwenVaeEncoder.load(store, TinyQwenVae.config(), TensorType.F16, m));
        }
    }

    private static WeightSource only(WeightSource source, Predicate<String> keep) {
        RenamedWeightSource.Builder b = RenamedWeightSource.over(source);
        for (String n : source.names()) {
            if (keep.test(n)) {
                b.map(n, n);
            }
        }
        return b.build();
    }
}
