package io.hicache.flux.vae;

import static io.hicache.core.testing.TensorAssert.maxRelDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.TensorAssert;
import io.hicache.core.weights.CheckpointMismatchException;
import io.hicache.core.weights.SafetensorsWriter;
import io.hicache.core.weights.WeightStore;
import io.hicache.flux.testing.Reference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The VAE decoder's blocks and the whole decode against float64 compositions of docs/models.md §5.2. */
class VaeDecoderTest {
    static final double F32_TOL = 1e-5;
    static final double BF16_TOL = 1.0 / 64;

    @TempDir
    Path dir;

    NDManager m;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
        m.getEngine().setRandomSeed(31);
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    static double tolerance(TensorType t) {
        return t == TensorType.BF16 ? BF16_TOL : F32_TOL;
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "BF16"})
    void blocksMatchTheFloat64Reference(TensorType dtype) throws IOException {
        TinyVae.write(dir, 41, TensorType.F32);
        try (VaeDecoder vae = VaeDecoder.load(dir, dtype, m); WeightStore w = WeightStore.open(dir)) {
            VaeReference ref = new VaeReference(w, vae.config(), dtype, m);
            NDArray x = m.randomNormal(new Shape(2, 32, 5, 4));
            NDArray xm = Precision.cast(x, dtype);
            NDArray xr = Reference.rounded(x, dtype);
            double tol = tolerance(dtype);
            // 32 → 32 without a shortcut, and 32 → 16 through the 1×1 conv_shortcut
            for (String block : List.of("mid_block.resnets.0.", "up_blocks.3.resnets.0.")) {
                NDArray out = vae.resnet(block, xm);
                double rel = maxRelDiff(ref.resnet("decoder." + block, xr), out);
                System.out.printf("VAE resnet %s %s: max rel diff %.3g%n", block, dtype.displayName(), rel);
                assertTrue(rel < tol, block + " " + rel);
            }
            assertArrayEquals(new long[] {2, 16, 5, 4}, vae.resnet("up_blocks.3.resnets.0.", xm).getShape().getShape());
            double relAttn = maxRelDiff(ref.attention("decoder.mid_block.attentions.0.", xr), vae.attention(xm));
            System.out.printf("VAE attention %s: max rel diff %.3g%n", dtype.displayName(), relAttn);
            assertTrue(relAttn < tol, "attention " + relAttn);
            NDArray up = vae.upsample("up_blocks.0.upsamplers.0.", xm);
            assertArrayEquals(new long[] {2, 32, 10, 8}, up.getShape().getShape());
            double relUp = maxRelDiff(ref.upsample("decoder.up_blocks.0.upsamplers.0.", xr), up);
            System.out.printf("VAE upsample %s: max rel diff %.3g%n", dtype.displayName(), relUp);
            assertTrue(relUp < tol, "upsample " + relUp);
        }
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "BF16"})
    void decodeMatchesTheReferenceInShapeAndRange(TensorType dtype) throws IOException {
        TinyVae.write(dir, 42, TensorType.BF16);
        try (VaeDecoder vae = VaeDecoder.load(dir, dtype, m); WeightStore w = WeightStore.open(dir)) {
            NDArray latents = m.randomNormal(new Shape(2, 16, 4, 6));
            NDArray image = vae.decode(latents);
            assertArrayEquals(new long[] {2, 3, 32, 48}, image.getShape().getShape(), "8× the latent size");
            assertEquals(TensorType.F32, Precision.typeOf(image));
            float[] px = image.toFloatArray();
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (float v : px) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            assertTrue(min >= -1 && max <= 1, min + " " + max);
            assertTrue(min == -1 || max == 1, "the tiny decoder's output reaches the clamp: " + min + " " + max);
            NDArray ref = new VaeReference(w, vae.config(), dtype, m).decode(Reference.rounded(latents, dtype));
            double rel = maxRelDiff(ref, image);
            System.out.printf("VAE decode %s: max rel diff %.3g%n", dtype.displayName(), rel);
            // bf16: 17 blocks of rounded activations (each block alone stays under 2⁻⁶, see above), and the
            // clamp pins the scale at 1, so the end-to-end bound is a few times the per-block one
            assertTrue(rel < (dtype == TensorType.BF16 ? 4 * BF16_TOL : F32_TOL), "decode " + rel);
        }
    }

    @Test
    void postQuantConvAndAttentionFollowTheConfig() throws IOException {
        VaeConfig other = new VaeConfig(3, 4, new int[] {16, 16}, 2, 4, 0.18215, 0, false, true);
        TinyVae.write(dir, other, 43, TensorType.F32);
        try (VaeDecoder vae = VaeDecoder.load(dir, TensorType.F32, m); WeightStore w = WeightStore.open(dir)) {
            assertTrue(w.contains("post_quant_conv.weight"));
            assertTrue(w.names().stream().noneMatch(n -> n.contains("attentions")));
            NDArray latents = m.randomNormal(new Shape(1, 4, 3, 3));
            NDArray image = vae.decode(latents);
            assertArrayEquals(new long[] {1, 3, 6, 6}, image.getShape().getShape());
            NDArray ref = new VaeReference(w, other, TensorType.F32, m).decode(Reference.rounded(latents, TensorType.F32));
            assertTrue(maxRelDiff(ref, image) < F32_TOL);
        }
    }

    /** The tiny checkpoint plus {@code extra} tensors, without {@code drop}. */
    Path rewrite(Path from, String name, String drop, List<String> extra) throws IOException {
        Path to = dir.resolve(name);
        Files.createDirectories(to);
        Files.copy(from.resolve("config.json"), to.resolve("config.json"));
        SafetensorsWriter out = new SafetensorsWriter();
        try (WeightStore w = WeightStore.open(from)) {
            for (String n : w.names()) {
                if (!n.equals(drop)) {
                    out.add(n, w.get(n, m));
                }
            }
        }
        for (String n : extra) {
            out.add(n, m.ones(new Shape(2, 2)));
        }
        out.write(to.resolve("diffusion_pytorch_model.safetensors"));
        return to;
    }

    @Test
    void encoderTensorsAreIgnoredAndMissingOnesNamed() throws IOException {
        Path base = dir.resolve("base");
        TinyVae.write(base, 44, TensorType.F32);
        Path full = rewrite(base, "full", null, List.of("encoder.conv_in.weight", "quant_conv.weight"));
        NDArray latents = m.randomNormal(new Shape(1, 16, 2, 2));
        try (VaeDecoder a = VaeDecoder.load(base, TensorType.F32, m); VaeDecoder b = VaeDecoder.load(full, TensorType.F32, m)) {
            TensorAssert.assertBitEqual(a.decode(latents), b.decode(latents), "encoder side ignored");
            assertThrows(IllegalArgumentException.class, () -> a.decode(m.zeros(new Shape(1, 4, 2, 2))));
        }
        String dropped = "decoder.up_blocks.1.resnets.1.conv2.bias";
        Path broken = rewrite(base, "broken", dropped, List.of("decoder.up_blocks.9.resnets.0.conv1.weight"));
        CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                () -> VaeDecoder.load(broken, TensorType.F32, m));
        assertEquals(List.of(dropped), e.missing());
        assertEquals(List.of("decoder.up_blocks.9.resnets.0.conv1.weight"), e.unexpected());
        NoSuchFileException noConfig = assertThrows(NoSuchFileException.class,
                () -> VaeDecoder.load(dir.resolve("nowhere"), TensorType.F32, m));
        assertTrue(noConfig.getMessage().contains("config.json"), noConfig.getMessage());
    }

    /** The LDM (BFL ae.safetensors) name of a diffusers decoder tensor, by the rules of docs/models.md §5.4. */
    static String ldmName(String diffusers, int levels) {
        String n = diffusers.replace("decoder.mid_block.resnets.0.", "decoder.mid.block_1.")
                .replace("decoder.mid_block.resnets.1.", "decoder.mid.block_2.")
                .replace("decoder.mid_block.attentions.0.group_norm.", "decoder.mid.attn_1.norm.")
                .replace("decoder.mid_block.attentions.0.to_q.", "decoder.mid.attn_1.q.")
                .replace("decoder.mid_block.attentions.0.to_k.", "decoder.mid.attn_1.k.")
                .replace("decoder.mid_block.attentions.0.to_v.", "decoder.mid.attn_1.v.")
                .replace("decoder.mid_block.attentions.0.to_out.0.", "decoder.mid.attn_1.proj_out.")
                .replace("decoder.conv_norm_out.", "decoder.norm_out.")
                .replace(".conv_shortcut.", ".nin_shortcut.");
        for (int k = 0; k < levels; k++) { // LDM numbers levels from the narrowest: up.(levels − 1 − k)
            n = n.replace("decoder.up_blocks." + k + ".resnets.", "decoder.up.L" + (levels - 1 - k) + ".block.")
                    .replace("decoder.up_blocks." + k + ".upsamplers.0.", "decoder.up.L" + (levels - 1 - k) + ".upsample.");
        }
        return n.replace("decoder.up.L", "decoder.up.");
    }

    @Test
    void aBflAutoencoderFileDecodesIdentically() throws IOException {
        Path vaeDir = dir.resolve("vae");
        TinyVae.write(vaeDir, 45, TensorType.F32);
        Path ae = dir.resolve("ae.safetensors");
        SafetensorsWriter out = new SafetensorsWriter();
        try (WeightStore w = WeightStore.open(vaeDir)) {
            for (String n : w.names()) {
                NDArray x = w.get(n, m);
                // BFL's attention projections are 1×1 convolutions
                out.add(ldmName(n, 4), n.contains(".attentions.0.to_") && n.endsWith(".weight")
                        ? x.reshape(x.getShape().get(0), x.getShape().get(1), 1, 1) : x);
            }
        }
        out.add("encoder.conv_in.weight", m.ones(new Shape(16, 3, 3, 3)));
        out.write(ae);
        try (WeightStore w = WeightStore.open(ae)) {
            assertTrue(w.contains("decoder.up.3.block.0.conv1.weight"), "widest LDM level is up.3 = diffusers up_blocks.0");
            assertTrue(w.contains("decoder.up.0.block.0.nin_shortcut.weight"));
            assertArrayEquals(new long[] {32, 32, 1, 1}, w.shape("decoder.mid.attn_1.q.weight"));
        }
        NDArray latents = m.randomNormal(new Shape(1, 16, 3, 2));
        try (VaeDecoder a = VaeDecoder.load(vaeDir, TensorType.F32, m);
                VaeDecoder b = VaeDecoder.loadBfl(ae, VaeConfig.tiny(), TensorType.F32, m)) {
            TensorAssert.assertBitEqual(a.decode(latents), b.decode(latents), "BFL vs diffusers names");
        }
        assertThrows(NoSuchFileException.class, () -> VaeDecoder.loadBfl(dir.resolve("missing.safetensors"),
                VaeConfig.flux1(), TensorType.F32, m));
    }

    @Test
    void fluxConfigHasTheDocumentedDecoder() throws IOException {
        // decoder alone: 138 tensors, 49,545,475 parameters (docs/models.md §5.3, §7)
        assertEquals(138, VaeDecoder.spec(VaeConfig.flux1()).size());
        assertEquals(49_545_475L, VaeDecoder.spec(VaeConfig.flux1()).count());
        Files.writeString(dir.resolve("config.json"), VaeConfig.flux1().toJson());
        VaeConfig c = VaeConfig.read(dir);
        assertArrayEquals(new int[] {128, 256, 512, 512}, c.blockOutChannels());
        assertEquals(0.3611, c.scalingFactor);
        assertEquals(0.1159, c.shiftFactor);
        assertEquals(8, c.scaleFactor());
        assertEquals(8, VaeConfig.tiny().scaleFactor());
        Files.writeString(dir.resolve("config.json"),
                VaeConfig.flux1().toJson().replace("\"norm_num_groups\" : 32", "\"norm_num_groups\" : 48"));
        assertThrows(IOException.class, () -> VaeConfig.read(dir));
    }

    @Test
    void decodingFreesItsIntermediates() throws IOException {
        TinyVae.write(dir, 46, TensorType.F32);
        try (VaeDecoder vae = VaeDecoder.load(dir, TensorType.BF16, m); NDManager call = m.newSubManager()) {
            NDArray latents = call.randomNormal(new Shape(1, 16, 4, 4));
            int weights = m.getManagedArrays().size() - call.getManagedArrays().size();
            vae.decode(latents);
            assertEquals(2, call.getManagedArrays().size(), "latents and the image only");
            assertEquals(weights, m.getManagedArrays().size() - call.getManagedArrays().size());
        }
    }

    /**
     * The mid-block attention over 128² pixels would hold 16384² fp32 scores (1 GiB, twice over with
     * the softmax) if materialised; a streaming kernel needs a few MiB. Measured as the growth of
     * the process's peak RSS, after resetting the peak (Linux), so that it cannot pass by accident.
     */
    @Test
    void midBlockAttentionDoesNotMaterialiseTheScoreMatrix() throws IOException {
        Path clearRefs = Path.of("/proc/self/clear_refs");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isWritable(clearRefs), "needs Linux /proc");
        TinyVae.write(dir, 47, TensorType.F32);
        try (VaeDecoder vae = VaeDecoder.load(dir, TensorType.F32, m); NDManager call = m.newSubManager()) {
            NDArray x = call.randomNormal(new Shape(1, 32, 128, 128));
            vae.attention(call.randomNormal(new Shape(1, 32, 8, 8))).close(); // kernels loaded before measuring
            Files.writeString(clearRefs, "5"); // resets VmHWM to the current RSS
            long before = peakRss();
            NDArray y = vae.attention(x);
            assertArrayEquals(new long[] {1, 32, 128, 128}, y.getShape().getShape());
            long growth = peakRss() - before;
            assertTrue(growth < 256L << 20, "peak RSS grew by " + (growth >> 20) + " MiB");
        }
    }

    private static long peakRss() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException("no VmHWM in /proc/self/status");
    }
}
