package io.hicache.flux.vae;

import static io.hicache.core.testing.TensorAssert.maxRelDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.image.TensorImages;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.TensorAssert;
import io.hicache.core.weights.CheckpointMismatchException;
import io.hicache.core.weights.SafetensorsWriter;
import io.hicache.core.shapes.ShapesGenerator;
import io.hicache.core.weights.WeightStore;
import io.hicache.flux.testing.Reference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The VAE encoder's blocks and the whole encode against the float64 reference of diffusers' Encoder. */
class VaeEncoderTest {
    @TempDir
    Path dir;

    NDManager m;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
        m.getEngine().setRandomSeed(37);
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    /** Images in [−1, 1], as the encoder gets them. */
    NDArray images(long... shape) {
        return m.randomUniform(-1, 1, new Shape(shape));
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "BF16"})
    void blocksMatchTheFloat64Reference(TensorType dtype) throws IOException {
        TinyVae.write(dir, VaeConfig.tiny(), 51, TensorType.F32, true);
        try (VaeEncoder vae = VaeEncoder.load(dir, dtype, m); WeightStore w = WeightStore.open(dir)) {
            VaeReference ref = new VaeReference(w, vae.config(), dtype, m);
            double tol = VaeDecoderTest.tolerance(dtype);
            // 16 → 16 without a shortcut, and 16 → 32 through the 1×1 conv_shortcut
            NDArray x16 = m.randomNormal(new Shape(2, 16, 5, 4));
            for (String block : List.of("down_blocks.0.resnets.0.", "down_blocks.1.resnets.0.")) {
                NDArray out = vae.resnet(block, Precision.cast(x16, dtype));
                double rel = maxRelDiff(ref.resnet("encoder." + block, Reference.rounded(x16, dtype)), out);
                System.out.printf("VAE encoder resnet %s %s: max rel diff %.3g%n", block, dtype.displayName(), rel);
                assertTrue(rel < tol, block + " " + rel);
            }
            assertArrayEquals(new long[] {2, 32, 5, 4},
                    vae.resnet("down_blocks.1.resnets.0.", Precision.cast(x16, dtype)).getShape().getShape());
            NDArray x32 = m.randomNormal(new Shape(2, 32, 5, 4));
            double relAttn = maxRelDiff(ref.attention("encoder.mid_block.attentions.0.", Reference.rounded(x32, dtype)),
                    vae.attention(Precision.cast(x32, dtype)));
            System.out.printf("VAE encoder attention %s: max rel diff %.3g%n", dtype.displayName(), relAttn);
            assertTrue(relAttn < tol, "attention " + relAttn);
            // even sides halve; odd ones see the extra zero row and column too
            for (long[] shape : new long[][] {{2, 16, 8, 6}, {1, 16, 7, 5}}) {
                NDArray x = m.randomNormal(new Shape(shape));
                NDArray down = vae.downsample("down_blocks.0.downsamplers.0.", Precision.cast(x, dtype));
                assertArrayEquals(new long[] {shape[0], 16, shape[2] / 2, shape[3] / 2}, down.getShape().getShape());
                double rel = maxRelDiff(ref.downsample("encoder.down_blocks.0.downsamplers.0.", Reference.rounded(x, dtype)), down);
                System.out.printf("VAE downsample %s %s: max rel diff %.3g%n", shape[2], dtype.displayName(), rel);
                assertTrue(rel < tol, "downsample " + rel);
            }
        }
    }

    /** The zero padding is on the right and at the bottom only: a kernel that reads one tap shows where. */
    @Test
    void downsamplingPadsRightAndBottom() throws IOException {
        float[] pixels = new float[16]; // x[i, j] = 10·i + j on a 4×4 image
        for (int i = 0; i < 16; i++) {
            pixels[i] = 10 * (i / 4) + i % 4;
        }
        NDArray x = m.create(pixels, new Shape(1, 1, 4, 4));
        // tap (0, 0) reads x[2i, 2j]; tap (2, 2) reads x[2i + 2, 2j + 2], the padding but for the first output
        assertArrayEquals(new float[] {0, 2, 20, 22}, downsampleWithTap(x, 0, 0).toFloatArray());
        assertArrayEquals(new float[] {22, 0, 0, 0}, downsampleWithTap(x, 2, 2).toFloatArray());
    }

    /** The first downsampler of a one-channel encoder whose kernel is 1 at (row, column) and 0 elsewhere, bias 0. */
    NDArray downsampleWithTap(NDArray x, int row, int column) throws IOException {
        VaeConfig c = new VaeConfig(1, 1, 1, new int[] {1, 1}, 1, 1, 1, 0, false, false, false);
        Path tiny = dir.resolve("tap" + row + column);
        TinyVae.write(tiny, c, 52, TensorType.F32, true);
        String conv = "encoder.down_blocks.0.downsamplers.0.conv.";
        float[] kernel = new float[9];
        kernel[3 * row + column] = 1;
        SafetensorsWriter out = new SafetensorsWriter();
        try (WeightStore w = WeightStore.open(tiny)) {
            for (String n : w.names()) {
                out.add(n, n.equals(conv + "weight") ? m.create(kernel, new Shape(1, 1, 3, 3))
                        : n.equals(conv + "bias") ? m.zeros(new Shape(1)) : w.get(n, m));
            }
        }
        out.write(tiny.resolve("diffusion_pytorch_model.safetensors"));
        try (VaeEncoder vae = VaeEncoder.load(tiny, TensorType.F32, m)) {
            NDArray y = vae.downsample("down_blocks.0.downsamplers.0.", x);
            assertArrayEquals(new long[] {1, 1, 2, 2}, y.getShape().getShape());
            return y;
        }
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "BF16"})
    void encodeMatchesTheReference(TensorType dtype) throws IOException {
        TinyVae.write(dir, VaeConfig.tiny(), 53, TensorType.BF16, true);
        try (VaeEncoder vae = VaeEncoder.load(dir, dtype, m); WeightStore w = WeightStore.open(dir)) {
            NDArray images = images(2, 3, 32, 48);
            NDArray latents = vae.encode(images);
            assertArrayEquals(new long[] {2, 16, 4, 6}, latents.getShape().getShape(), "1/8 of the image size");
            assertEquals(TensorType.F32, Precision.typeOf(latents));
            NDArray ref = new VaeReference(w, vae.config(), dtype, m).encode(Reference.rounded(images, dtype));
            double rel = maxRelDiff(ref, latents);
            System.out.printf("VAE encode %s: max rel diff %.3g%n", dtype.displayName(), rel);
            // bf16: a dozen blocks of rounded activations, each under 2⁻⁶ alone (see above)
            assertTrue(rel < (dtype == TensorType.BF16 ? 4 * VaeDecoderTest.BF16_TOL : VaeDecoderTest.F32_TOL), "encode " + rel);
        }
    }

    @Test
    void quantConvAndAttentionFollowTheConfig() throws IOException {
        VaeConfig other = new VaeConfig(3, 3, 4, new int[] {16, 16}, 2, 4, 0.18215, 0.5, false, true, true);
        TinyVae.write(dir, other, 54, TensorType.F32, true);
        try (VaeEncoder vae = VaeEncoder.load(dir, TensorType.F32, m); WeightStore w = WeightStore.open(dir)) {
            assertTrue(w.contains("quant_conv.weight"));
            assertArrayEquals(new long[] {8, 8, 1, 1}, w.shape("quant_conv.weight"));
            assertTrue(w.names().stream().noneMatch(n -> n.contains("attentions")));
            NDArray images = images(1, 3, 6, 10);
            NDArray latents = vae.encode(images);
            assertArrayEquals(new long[] {1, 4, 3, 5}, latents.getShape().getShape());
            NDArray ref = new VaeReference(w, other, TensorType.F32, m).encode(Reference.rounded(images, TensorType.F32));
            assertTrue(maxRelDiff(ref, latents) < VaeDecoderTest.F32_TOL);
        }
    }

    @Test
    void fluxConfigHasTheDocumentedEncoder() {
        // encoder + decoder: 244 tensors, 83,819,683 parameters; the decoder alone 138 and 49,545,475 (docs/models.md §5.6, §7)
        assertEquals(244 - 138, VaeEncoder.spec(VaeConfig.flux1()).size());
        assertEquals(83_819_683L - 49_545_475L, VaeEncoder.spec(VaeConfig.flux1()).count());
        assertArrayEquals(new long[] {32, 512, 3, 3}, VaeEncoder.spec(VaeConfig.flux1()).shapes().get("encoder.conv_out.weight"));
        assertArrayEquals(new long[] {128, 3, 3, 3}, VaeEncoder.spec(VaeConfig.flux1()).shapes().get("encoder.conv_in.weight"));
        assertArrayEquals(new long[] {256, 128, 1, 1},
                VaeEncoder.spec(VaeConfig.flux1()).shapes().get("encoder.down_blocks.1.resnets.0.conv_shortcut.weight"));
        assertFalse(VaeEncoder.spec(VaeConfig.flux1()).shapes().containsKey("encoder.down_blocks.3.downsamplers.0.conv.weight"));
        assertFalse(VaeEncoder.spec(VaeConfig.flux1()).shapes().containsKey("quant_conv.weight"));
    }

    /**
     * The tiny model's round trip on Shapes images (the training data): image → latents → image, with
     * the shapes of FLUX (8×, 16 channels: 128² → 16×16×16).
     */
    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "BF16"})
    void encodeThenDecodeRoundTripsTheShapes(TensorType dtype) throws IOException {
        Path both = dir.resolve("both");
        Path decoderOnly = dir.resolve("decoder");
        TinyVae.write(both, VaeConfig.tiny(), 55, TensorType.BF16, true);
        TinyVae.write(decoderOnly, VaeConfig.tiny(), 55, TensorType.BF16);
        try (VaeEncoder encoder = VaeEncoder.load(both, dtype, m);
                VaeDecoder decoder = VaeDecoder.load(both, dtype, m);
                VaeDecoder same = VaeDecoder.load(decoderOnly, dtype, m)) {
            NDArray images = TensorImages.toTensor(
                    List.of(ShapesGenerator.sample(1).render(), ShapesGenerator.sample(2).render()), m);
            NDArray latents = encoder.encode(images);
            assertArrayEquals(new long[] {2, 16, 16, 16}, latents.getShape().getShape());
            for (double v : TensorAssert.values(latents)) {
                assertTrue(Double.isFinite(v), "latent " + v);
            }
            NDArray back = decoder.decode(latents);
            assertArrayEquals(new long[] {2, 3, 128, 128}, back.getShape().getShape());
            assertEquals(TensorType.F32, Precision.typeOf(back));
            for (double v : TensorAssert.values(back)) {
                assertTrue(v >= -1 && v <= 1 && Double.isFinite(v), "decoded value " + v);
            }
            // writing the encoder leaves the decoder's weights as the seed gives them without it
            TensorAssert.assertBitEqual(back, same.decode(latents), "decoder with and without the encoder");
        }
    }

    @Test
    void aDecoderOnlyCheckpointNamesTheMissingEncoder() throws IOException {
        TinyVae.write(dir, 56, TensorType.F32);
        CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                () -> VaeEncoder.load(dir, TensorType.F32, m));
        assertTrue(e.missing().contains("encoder.conv_in.weight"), e.missing().toString());
        assertEquals(VaeEncoder.spec(VaeConfig.tiny()).size(), e.missing().size());
        assertTrue(e.unexpected().isEmpty(), "the decoder side is not the encoder's business: " + e.unexpected());
    }

    @Test
    void rejectsImagesOfTheWrongShapeAndUnknownDownBlocks() throws IOException {
        TinyVae.write(dir, VaeConfig.tiny(), 57, TensorType.F32, true);
        try (VaeEncoder vae = VaeEncoder.load(dir, TensorType.F32, m)) {
            for (long[] shape : new long[][] {{1, 4, 16, 16}, {1, 3, 12, 16}, {3, 16, 16}}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> vae.encode(m.zeros(new Shape(shape))));
                assertTrue(e.getMessage().contains("multiples of 8"), e.getMessage());
            }
        }
        Files.writeString(dir.resolve("config.json"), VaeConfig.tiny().toJson().replaceFirst("DownEncoderBlock2D", "AttnDownEncoderBlock2D"));
        IOException e = assertThrows(IOException.class, () -> VaeConfig.read(dir));
        assertTrue(e.getMessage().contains("AttnDownEncoderBlock2D"), e.getMessage());
    }

    @Test
    void configKeepsInChannelsAndQuantConv() throws IOException {
        VaeConfig c = new VaeConfig(4, 3, 16, new int[] {16, 32}, 1, 8, 0.5, 0.25, true, true, false);
        Files.writeString(dir.resolve("config.json"), c.toJson());
        VaeConfig read = VaeConfig.read(dir);
        assertEquals(4, read.inChannels);
        assertEquals(3, read.outChannels);
        assertTrue(read.useQuantConv);
        assertFalse(read.usePostQuantConv);
        assertEquals(3, VaeConfig.flux1().inChannels);
        assertFalse(VaeConfig.flux1().useQuantConv);
    }

    @Test
    void encodingFreesItsIntermediates() throws IOException {
        TinyVae.write(dir, VaeConfig.tiny(), 58, TensorType.F32, true);
        try (VaeEncoder vae = VaeEncoder.load(dir, TensorType.BF16, m); NDManager call = m.newSubManager()) {
            NDArray images = call.randomUniform(-1, 1, new Shape(1, 3, 32, 32));
            int weights = m.getManagedArrays().size() - call.getManagedArrays().size();
            vae.encode(images);
            assertEquals(2, call.getManagedArrays().size(), "images and latents only");
            assertEquals(weights, m.getManagedArrays().size() - call.getManagedArrays().size());
        }
    }
}
