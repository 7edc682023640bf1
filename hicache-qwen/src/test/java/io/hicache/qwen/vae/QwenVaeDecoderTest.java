package io.hicache.qwen.vae;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv3d;
import io.hicache.core.nn.Layers;
import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.SeededNoise;
import io.hicache.core.testing.TensorAssert;
import io.hicache.core.weights.CheckpointMismatchException;
import io.hicache.core.weights.RenamedWeightSource;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one-frame Qwen-Image VAE decoder: layout, RMS_norm, the causal-conv tap, and a float64 3-D reference. */
class QwenVaeDecoderTest {
    /** Qwen/Qwen-Image vae/config.json. */
    static final String REAL = "{\"_class_name\": \"AutoencoderKLQwenImage\", \"_diffusers_version\": \"0.34.0.dev0\","
            + " \"attn_scales\": [], \"base_dim\": 96, \"dim_mult\": [1, 2, 4, 4], \"dropout\": 0.0,"
            + " \"latents_mean\": [-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508, 0.4134, -0.0715,"
            + " 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921],"
            + " \"latents_std\": [2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743, 3.2687, 2.1526, 2.8652,"
            + " 1.5579, 1.6382, 1.1253, 2.8251, 1.916], \"num_res_blocks\": 2,"
            + " \"temperal_downsample\": [false, true, true], \"z_dim\": 16}";

    @TempDir
    static Path dir;

    static NDManager manager;
    static QwenVaeDecoder decoder;

    @BeforeAll
    static void load() throws IOException {
        manager = NDManager.newBaseManager();
        TinyQwenVae.write(dir, TinyQwenVae.config(), 3, TensorType.F32);
        decoder = QwenVaeDecoder.load(dir, TensorType.F32, manager);
    }

    @AfterAll
    static void close() {
        decoder.close();
        manager.close();
    }

    @Test
    void realLayoutHas194TensorsAndTheDocumentedParameterCounts() {
        QwenVaeConfig c = QwenVaeConfig.fromJson(REAL);
        ParameterSpec all = QwenVaeLayout.stored(c);
        assertEquals(194, all.size());
        assertEquals(126_892_531L, all.count());
        assertEquals(73_295_603L, QwenVaeLayout.decoderSide(c).count(), "decoder + post_quant_conv");
        assertArrayEquals(new long[] {384, 16, 3, 3, 3}, all.shapes().get("decoder.conv_in.weight"));
        assertArrayEquals(new long[] {384, 192, 3, 3, 3}, all.shapes().get("decoder.up_blocks.1.resnets.0.conv1.weight"));
        assertArrayEquals(new long[] {96, 192, 3, 3}, all.shapes().get("decoder.up_blocks.2.upsamplers.0.resample.1.weight"));
        assertArrayEquals(new long[] {768, 384, 3, 1, 1}, all.shapes().get("decoder.up_blocks.0.upsamplers.0.time_conv.weight"));
        assertArrayEquals(new long[] {384, 1, 1}, all.shapes().get("decoder.mid_block.attentions.0.norm.gamma"));
        assertArrayEquals(new long[] {384, 384, 3, 1, 1}, all.shapes().get("encoder.down_blocks.8.time_conv.weight"));
        assertArrayEquals(new long[] {32, 32, 1, 1, 1}, all.shapes().get("quant_conv.weight"));
        assertEquals(8, c.scaleFactor());
        assertEquals(2.8184, c.latentsStd()[0]);
        assertEquals(-0.2921, c.latentsMean()[15]);
    }

    @Test
    void configIsReadStrictly() {
        assertThrows(IllegalArgumentException.class, () -> QwenVaeConfig.fromJson(REAL.replace("\"z_dim\": 16", "\"z_dim\": 8")),
                "16 latent statistics for z_dim 8");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> QwenVaeConfig.fromJson(REAL.replace("\"attn_scales\": []", "\"attn_scales\": [0.5]")));
        assertTrue(e.getMessage().contains("attn_scales"));
        e = assertThrows(IllegalArgumentException.class,
                () -> QwenVaeConfig.fromJson(REAL.replace("\"base_dim\": 96,", "")));
        assertTrue(e.getMessage().contains("missing keys [base_dim]"));
        e = assertThrows(IllegalArgumentException.class,
                () -> QwenVaeConfig.fromJson(REAL.replace("\"z_dim\": 16", "\"z_dim\": 16, \"is_residual\": true")));
        assertTrue(e.getMessage().contains("unknown keys [is_residual]"));
    }

    /** Pixel (3, 4): ‖x‖ = 5, √C = √2, γ = (1, 2) → (0.6·√2, 1.6·√2); a zero pixel stays 0 (norm floored at 1e-12). */
    @Test
    void rmsNormMatchesAHandComputation() {
        try (NDManager m = manager.newSubManager()) {
            NDArray x = m.create(new float[] {3, 0, 4, 0}, new Shape(1, 2, 1, 2));
            NDArray gamma = m.create(new float[] {1, 2}, new Shape(2, 1, 1));
            float[] y = QwenVaeBlocks.rmsNorm(x, gamma).toFloatArray();
            assertEquals(0.6 * Math.sqrt(2), y[0], 1e-6);
            assertEquals(0, y[1], 0);
            assertEquals(1.6 * Math.sqrt(2), y[2], 1e-6);
            assertEquals(0, y[3], 0);
        }
    }

    /**
     * A 3×3×3 causal convolution on one frame (two zero frames in front) equals the 2-D convolution with
     * the kernel's last temporal tap; the other taps only ever multiply the zero padding.
     */
    @Test
    void causalConvolutionOfOneFrameIsItsLastTap() {
        try (NDManager m = manager.newSubManager()) {
            NDArray w = SeededNoise.gaussian(1, new Shape(5, 3, 3, 3, 3), m).toType(DataType.FLOAT64, true);
            NDArray b = SeededNoise.gaussian(2, new Shape(5), m).toType(DataType.FLOAT64, true);
            NDArray x = SeededNoise.gaussian(3, new Shape(1, 3, 1, 6, 7), m).toType(DataType.FLOAT64, true);
            NDArray padded = m.zeros(new Shape(1, 3, 2, 6, 7), DataType.FLOAT64).concat(x, 2);
            NDArray conv3d = Conv3d.conv3d(padded, w, b, new Shape(1, 1, 1), new Shape(0, 1, 1), new Shape(1, 1, 1), 1)
                    .singletonOrThrow();
            assertArrayEquals(new long[] {1, 5, 1, 6, 7}, conv3d.getShape().getShape());
            NDArray frame = x.reshape(1, 3, 6, 7);
            NDArray lastTap = Layers.conv2d(frame, w.get(new NDIndex(":, :, 2")).duplicate(), b, 1);
            TensorAssert.assertClose(conv3d.reshape(1, 5, 6, 7), lastTap, 1e-12, 1e-12, "3-D causal vs last tap");
            NDArray firstTap = Layers.conv2d(frame, w.get(new NDIndex(":, :, 0")).duplicate(), b, 1);
            assertTrue(TensorAssert.maxAbsDiff(conv3d.reshape(1, 5, 6, 7), firstTap) > 0.1, "the tap matters");
        }
    }

    /** The loader presents stored 3-D kernels as their last tap and hides time_conv and the encoder. */
    @Test
    void oneFrameWeightsAreTheLastTaps() throws IOException {
        try (WeightStore store = WeightStore.open(dir); NDManager m = manager.newSubManager()) {
            OneFrameWeights view = OneFrameWeights.decoder(store, TinyQwenVae.config());
            String conv = "decoder.up_blocks.1.resnets.0.conv1.weight";
            assertArrayEquals(new long[] {32, 16, 3, 3}, view.shape(conv));
            NDArray stored = store.get(conv, TensorType.F32, m);
            TensorAssert.assertBitEqual(stored.get(new NDIndex(":, :, 2")), view.get(conv, TensorType.F32, m), conv);
            assertArrayEquals(new long[] {16, 16, 1, 1}, view.shape("post_quant_conv.weight"));
            assertArrayEquals(new long[] {32, 1, 1}, view.shape("decoder.mid_block.resnets.0.norm1.gamma"));
            assertTrue(store.contains("decoder.up_blocks.0.upsamplers.0.time_conv.weight"));
            assertTrue(view.names().stream().noneMatch(n -> n.contains("time_conv") || n.startsWith("encoder.")));
        }
    }

    @Test
    void aWrongCheckpointIsReportedInFull() throws IOException {
        try (WeightStore store = WeightStore.open(dir)) {
            RenamedWeightSource.Builder b = RenamedWeightSource.over(store);
            for (String n : store.names()) {
                if (!n.equals("decoder.conv_out.bias")) {
                    b.map(n.equals("decoder.conv_in.weight") ? "decoder.conv_in.kernel" : n, n);
                }
            }
            CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                    () -> OneFrameWeights.decoder(b.build(), TinyQwenVae.config()));
            assertTrue(e.missing().contains("decoder.conv_out.bias"));
            assertTrue(e.missing().contains("decoder.conv_in.weight"));
            assertTrue(e.unexpected().contains("decoder.conv_in.kernel"));
            CheckpointMismatchException shapes = assertThrows(CheckpointMismatchException.class,
                    () -> OneFrameWeights.decoder(store, QwenVaeConfig.fromJson(REAL)));
            assertTrue(shapes.wrongShapes().get(0).contains("expected"), shapes.getMessage());
        }
    }

    @Test
    void decodeMatchesAFloat64ThreeDimensionalReference() throws IOException {
        try (WeightStore store = WeightStore.open(dir); NDManager m = manager.newSubManager()) {
            NDArray latents = SeededNoise.gaussian(7, new Shape(1, 16, 5, 6), m).mul(0.5f);
            NDArray image = decoder.decode(latents);
            assertArrayEquals(new long[] {1, 3, 40, 48}, image.getShape().getShape());
            NDArray expected = new Float64QwenVae(TinyQwenVae.config(), store, m).decode(latents);
            double rel = TensorAssert.maxRelDiff(expected, image);
            System.out.printf("VAE decode: max rel diff to float64 = %.3g%n", rel);
            assertTrue(rel < 1e-5, "max rel diff " + rel);
            double[] v = TensorAssert.values(image);
            double spread = 0;
            for (double p : v) {
                spread = Math.max(spread, Math.abs(p));
            }
            assertTrue(spread > 0.05 && spread <= 1, "a non-trivial image within [-1, 1]: " + spread);
        }
    }

    @Test
    void latentsAreDenormalisedPerChannel() {
        try (NDManager m = manager.newSubManager()) {
            NDArray zeros = m.zeros(new Shape(1, 16, 1, 1));
            LatentNormalization normalization = new LatentNormalization(TinyQwenVae.config());
            float[] z = normalization.denormalize(zeros).toFloatArray();
            NDArray ones = m.ones(new Shape(1, 16, 1, 1));
            float[] o = normalization.denormalize(ones).toFloatArray();
            double[] mean = TinyQwenVae.config().latentsMean();
            double[] std = TinyQwenVae.config().latentsStd();
            for (int c = 0; c < 16; c++) {
                assertEquals(mean[c], z[c], 1e-6, "mean of channel " + c);
                assertEquals(mean[c] + std[c], o[c], 1e-6, "mean + std of channel " + c);
            }
        }
    }
}
