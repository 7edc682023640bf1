package io.hicache.flux.text;

import static io.hicache.core.testing.TensorAssert.maxRelDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The T5 encoder against hand-computed position buckets and an independent float64 composition of
 * the T5 v1.1 equations (docs/models.md §3.2), on the tiny checkpoint.
 */
class T5EncoderTest {
    /** Max error relative to the output's scale: float32 rounding only. */
    static final double F32_TOL = 1e-5;
    /** bf16 keeps 8 bits: a few ulps of the scale (2⁻⁶) after two layers of rounded activations. */
    static final double BF16_TOL = 1.0 / 64;

    @TempDir
    Path dir;

    NDManager m;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    @Test
    void bucketsMatchHandComputedValues() {
        // 32 buckets, max distance 128: 16 per direction (keys after the query add 16), distances
        // 0..7 are exact, then bucket 8 + ⌊ln(d/8)/ln(16)·8⌋, capped at 15.
        int[][] cases = {
            {0, 0}, {-1, 1}, {1, 17}, {-7, 7}, {7, 23},
            {-8, 8}, {8, 24}, // ln(1) = 0 → 8 + 0
            {-11, 8}, // ln(11/8)/ln 16·8 = 0.3185/2.7726·8 = 0.919 → 8
            {-12, 9}, // ln 1.5/ln 16·8 = 1.170 → 9
            {-16, 10}, // ln 2/ln 16·8 = exactly 2 → 10
            {-22, 10}, // ln 2.75/ln 16·8 = 2.919 → 10
            {-23, 11}, // ln 2.875/ln 16·8 = 3.047 → 11
            {-32, 12}, // exactly 4
            {-45, 12}, // 4.984
            {-46, 13}, // 5.047
            {-64, 14}, // exactly 6
            {64, 30}, // 16 + 14
            {-90, 14}, // 6.984
            {-91, 15}, // 7.016
            {-127, 15}, // 7.977
            {-128, 15}, // 8 + 8 = 16, capped at 15
            {-1000, 15}, {1000, 31},
        };
        for (int[] c : cases) {
            assertEquals(c[1], T5Encoder.relativePositionBucket(c[0], 32, 128), "bucket of " + c[0]);
        }
        // 8 buckets, max distance 20: 4 per direction, exact below 2, then 2 + ⌊ln(d/2)/ln 10·2⌋ ≤ 3
        int[][] small = {
            {0, 0}, {1, 5}, {-1, 1},
            {-2, 2}, // ln 1 = 0
            {-3, 2}, // ln 1.5/ln 10·2 = 0.352
            {5, 6}, // 4 + 2 + ⌊ln 2.5/ln 10·2 = 0.796⌋
            {-7, 3}, // ln 3.5/ln 10·2 = 1.088
            {-20, 3}, // 2 + 2 = 4, capped at 3
        };
        for (int[] c : small) {
            assertEquals(c[1], T5Encoder.relativePositionBucket(c[0], 8, 20), "small bucket of " + c[0]);
        }
    }

    @Test
    void positionBiasGathersTheBucketRowOfEachHead() throws IOException {
        TinyT5.write(dir, 3, TensorType.F32, false);
        try (T5Encoder t5 = T5Encoder.load(dir, TensorType.F32, m); WeightStore store = WeightStore.open(dir)) {
            double[] table = store.get(T5Encoder.RELATIVE_BIAS, TensorType.F64, m).toDoubleArray(); // [32, 4]
            int heads = t5.config().numHeads;
            NDArray bias = t5.positionBias(m, 5);
            assertArrayEquals(new long[] {1, heads, 5, 5}, bias.getShape().getShape());
            double[] got = Reference.f64(bias).toDoubleArray();
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < 5; i++) {
                    for (int j = 0; j < 5; j++) {
                        // distances below 8 are exact: key before/at the query → d, after → 16 + d
                        int bucket = j > i ? 16 + (j - i) : i - j;
                        assertEquals(table[bucket * heads + h], got[(h * 5 + i) * 5 + j], 0, "h" + h + " i" + i + " j" + j);
                    }
                }
            }
        }
    }

    /** The bias of the reference: its own bucket rule written in float64. */
    static NDArray referenceBias(NDArray table, int length, int numBuckets, int maxDistance) {
        int half = numBuckets / 2;
        int exact = half / 2;
        long heads = table.getShape().get(1);
        double[] t = table.toDoubleArray();
        double[] out = new double[(int) (heads * length * length)];
        for (int i = 0; i < length; i++) {
            for (int j = 0; j < length; j++) {
                int d = Math.abs(j - i);
                int bucket = (j > i ? half : 0) + (d < exact ? d
                        : Math.min(half - 1, exact + (int) Math.floor(Math.log((double) d / exact)
                                / Math.log((double) maxDistance / exact) * (half - exact))));
                for (int h = 0; h < heads; h++) {
                    out[(h * length + i) * length + j] = t[(int) (bucket * heads + h)];
                }
            }
        }
        return table.getManager().create(out, new Shape(1, heads, length, length));
    }

    /** One T5 layer in float64: pre-norm attention without 1/√d, then the gated tanh-GELU MLP. */
    static NDArray referenceLayer(WeightStore w, T5Config c, int layer, NDArray x, NDArray bias, TensorType dtype)
            throws IOException {
        String p = "encoder.block." + layer + ".";
        long b = x.getShape().get(0);
        long l = x.getShape().get(1);
        NDArray h = Reference.rmsNorm(x, Reference.weight(w, p + "layer.0.layer_norm.weight", dtype, m(x)), c.layerNormEpsilon);
        NDArray[] qkv = new NDArray[3];
        String[] names = {"q", "k", "v"};
        for (int i = 0; i < 3; i++) {
            NDArray wt = Reference.weight(w, p + "layer.0.SelfAttention." + names[i] + ".weight", dtype, m(x));
            qkv[i] = Reference.linear(h, wt, null).reshape(b, l, c.numHeads, c.dKv).transpose(0, 2, 1, 3);
        }
        NDArray o = Reference.attention(qkv[0], qkv[1], qkv[2], bias, 1.0).transpose(0, 2, 1, 3).reshape(b, l, c.innerDim());
        x = x.add(Reference.linear(o, Reference.weight(w, p + "layer.0.SelfAttention.o.weight", dtype, m(x)), null));
        h = Reference.rmsNorm(x, Reference.weight(w, p + "layer.1.layer_norm.weight", dtype, m(x)), c.layerNormEpsilon);
        String ff = p + "layer.1.DenseReluDense.";
        NDArray gate = Reference.geluTanh(Reference.linear(h, Reference.weight(w, ff + "wi_0.weight", dtype, m(x)), null));
        NDArray up = Reference.linear(h, Reference.weight(w, ff + "wi_1.weight", dtype, m(x)), null);
        return x.add(Reference.linear(gate.mul(up), Reference.weight(w, ff + "wo.weight", dtype, m(x)), null));
    }

    static NDManager m(NDArray x) {
        return x.getManager();
    }

    static NDArray referenceEncoder(WeightStore w, T5Config c, long[][] ids, TensorType dtype) throws IOException {
        NDManager mm = NDManager.newBaseManager();
        NDArray table = Reference.weight(w, "shared.weight", dtype, mm);
        NDArray x = Reference.gather(table, ids);
        NDArray bias = referenceBias(Reference.weight(w, T5Encoder.RELATIVE_BIAS, dtype, mm), ids[0].length,
                c.relativeAttentionNumBuckets, c.relativeAttentionMaxDistance);
        for (int i = 0; i < c.numLayers; i++) {
            x = referenceLayer(w, c, i, x, bias, dtype);
        }
        return Reference.rmsNorm(x, Reference.weight(w, "encoder.final_layer_norm.weight", dtype, mm), c.layerNormEpsilon);
    }

    static double tolerance(TensorType dtype) {
        return dtype == TensorType.BF16 ? BF16_TOL : F32_TOL;
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "BF16"})
    void oneLayerMatchesTheFloat64Reference(TensorType dtype) throws IOException {
        TinyT5.write(dir, 5, TensorType.F32, false);
        try (T5Encoder t5 = T5Encoder.load(dir, dtype, m); WeightStore w = WeightStore.open(dir)) {
            T5Config c = t5.config();
            m.getEngine().setRandomSeed(11);
            NDArray x = m.randomNormal(new Shape(2, 6, c.dModel));
            NDArray bias = t5.positionBias(m, 6);
            NDArray out = t5.block(1, Precision.cast(x, dtype), bias);
            assertEquals(dtype, Precision.typeOf(out));
            NDArray ref = referenceLayer(w, c, 1, Reference.rounded(x, dtype), Reference.f64(bias), dtype);
            double rel = maxRelDiff(ref, out);
            System.out.printf("T5 layer %s: max rel diff %.3g%n", dtype.displayName(), rel);
            assertTrue(rel < tolerance(dtype), "rel " + rel);
        }
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "BF16"})
    void encoderMatchesTheFloat64Reference(TensorType dtype) throws IOException {
        TinyT5.write(dir, 6, TensorType.F32, false);
        long[][] ids = {{4, 17, 60, 9, 1, 0, 0, 0, 0}, {127, 3, 3, 45, 88, 21, 12, 1, 0}};
        try (T5Encoder t5 = T5Encoder.load(dir, dtype, m); WeightStore w = WeightStore.open(dir)) {
            NDArray out = t5.encode(m.create(ids));
            assertArrayEquals(new long[] {2, 9, 32}, out.getShape().getShape());
            assertEquals(dtype, Precision.typeOf(out));
            NDArray ref = referenceEncoder(w, t5.config(), ids, dtype);
            double rel = maxRelDiff(ref, out);
            System.out.printf("T5 encoder %s: max rel diff %.3g%n", dtype.displayName(), rel);
            assertTrue(rel < tolerance(dtype), "rel " + rel);
        }
    }

    @Test
    void float32AndBfloat16AgreeToBf16Precision() throws IOException {
        TinyT5.write(dir, 7, TensorType.BF16, false);
        long[][] ids = {{8, 9, 10, 11, 1, 0, 0}};
        try (T5Encoder f = T5Encoder.load(dir, TensorType.F32, m); T5Encoder b = T5Encoder.load(dir, TensorType.BF16, m)) {
            double rel = maxRelDiff(f.encode(m.create(ids)), b.encode(m.create(ids)));
            System.out.printf("T5 encoder f32 vs bf16 (bf16 checkpoint): max rel diff %.3g%n", rel);
            assertTrue(rel < BF16_TOL, "rel " + rel);
        }
    }

    @Test
    void paddingIsAttendedBecauseThereIsNoMask() throws IOException {
        TinyT5.write(dir, 8, TensorType.F32, false);
        try (T5Encoder t5 = T5Encoder.load(dir, TensorType.F32, m)) {
            NDArray a = t5.encode(m.create(new long[][] {{20, 21, 1, 0, 0}}));
            NDArray b = t5.encode(m.create(new long[][] {{20, 21, 1, 0, 7}}));
            // the first token sees the last position both ways: no mask, bidirectional
            assertTrue(TensorAssert.maxAbsDiff(a.get(new NDIndex(":, 0")), b.get(new NDIndex(":, 0"))) > 1e-4);
        }
    }

    @Test
    void shardedAndSingleFileCheckpointsGiveIdenticalResults() throws IOException {
        Path one = dir.resolve("one");
        Path sharded = dir.resolve("sharded");
        TinyT5.write(one, 9, TensorType.BF16, false);
        TinyT5.write(sharded, 9, TensorType.BF16, true);
        try (Stream<Path> files = Files.list(sharded)) {
            assertEquals(List.of("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                    "model.safetensors.index.json"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        long[][] ids = {{5, 6, 7, 1}};
        try (T5Encoder a = T5Encoder.load(one, TensorType.F32, m); T5Encoder b = T5Encoder.load(sharded, TensorType.F32, m)) {
            TensorAssert.assertBitEqual(a.encode(m.create(ids)), b.encode(m.create(ids)), "sharded vs single file");
        }
    }

    /** Rewrites the tiny checkpoint with the embedding under other names. */
    void rewriteEmbedding(Path from, Path to, boolean keepShared, boolean addAlias) throws IOException {
        Files.createDirectories(to);
        Files.copy(from.resolve("config.json"), to.resolve("config.json"));
        SafetensorsWriter out = new SafetensorsWriter();
        try (WeightStore w = WeightStore.open(from)) {
            for (String n : w.names()) {
                if (!n.equals(T5Encoder.EMBEDDING) || keepShared) {
                    out.add(n, w.get(n, m));
                }
            }
            if (addAlias) {
                out.add(T5Encoder.EMBEDDING_ALIAS, w.get(T5Encoder.EMBEDDING, m));
            }
        }
        out.write(to.resolve("model.safetensors"));
    }

    @Test
    void embeddingMayBeStoredAsEmbedTokensOrTwice() throws IOException {
        Path base = dir.resolve("base");
        TinyT5.write(base, 10, TensorType.F32, false);
        rewriteEmbedding(base, dir.resolve("alias"), false, true);
        rewriteEmbedding(base, dir.resolve("both"), true, true);
        long[][] ids = {{30, 31, 1, 0}};
        try (T5Encoder a = T5Encoder.load(base, TensorType.F32, m);
                T5Encoder b = T5Encoder.load(dir.resolve("alias"), TensorType.F32, m);
                T5Encoder c = T5Encoder.load(dir.resolve("both"), TensorType.F32, m)) {
            NDArray expected = a.encode(m.create(ids));
            TensorAssert.assertBitEqual(expected, b.encode(m.create(ids)), "encoder.embed_tokens.weight only");
            TensorAssert.assertBitEqual(expected, c.encode(m.create(ids)), "both names");
        }
    }

    @Test
    void aMissingTensorIsReportedByName() throws IOException {
        Path base = dir.resolve("base");
        TinyT5.write(base, 11, TensorType.F32, true);
        Path broken = dir.resolve("broken");
        Files.createDirectories(broken);
        Files.copy(base.resolve("config.json"), broken.resolve("config.json"));
        String dropped = "encoder.block.1.layer.1.DenseReluDense.wo.weight";
        SafetensorsWriter out = new SafetensorsWriter();
        try (WeightStore w = WeightStore.open(base)) {
            for (String n : w.names()) {
                if (!n.equals(dropped)) {
                    out.add(n, w.get(n, m));
                }
            }
        }
        out.add("encoder.block.2.layer.0.layer_norm.weight", m.ones(new Shape(32)));
        out.write(broken.resolve("model.safetensors"));
        CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                () -> T5Encoder.load(broken, TensorType.F32, m));
        assertEquals(List.of(dropped), e.missing());
        assertEquals(List.of("encoder.block.2.layer.0.layer_norm.weight"), e.unexpected());
        assertTrue(e.getMessage().contains(dropped), e.getMessage());
    }

    @Test
    void missingFilesAreNamedWithHowToGetThem() throws IOException {
        NoSuchFileException noConfig = assertThrows(NoSuchFileException.class, () -> T5Encoder.load(dir, TensorType.F32, m));
        assertTrue(noConfig.getMessage().contains("config.json") && noConfig.getMessage().contains("FLUX.1"),
                noConfig.getMessage());
        Files.writeString(dir.resolve("config.json"), T5Config.tiny().toJson());
        NoSuchFileException noWeights = assertThrows(NoSuchFileException.class, () -> T5Encoder.load(dir, TensorType.F32, m));
        assertTrue(noWeights.getMessage().contains("safetensors") && noWeights.getMessage().contains("init-tiny"),
                noWeights.getMessage());
    }

    @Test
    void onlyFloat32AndBfloat16AreComputeTypes() throws IOException {
        TinyT5.write(dir, 13, TensorType.F32, false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> T5Encoder.load(dir, TensorType.F16, m));
        assertTrue(e.getMessage().contains("float32 or bfloat16"), e.getMessage());
    }

    @Test
    void configIsReadAndValidated() throws IOException {
        Files.writeString(dir.resolve("config.json"), T5Config.xxl().toJson());
        T5Config c = T5Config.read(dir);
        assertEquals(4096, c.dModel);
        assertEquals(10240, c.dFf);
        assertEquals(64, c.numHeads);
        assertEquals(24, c.numLayers);
        assertEquals(32128, c.vocabSize);
        assertEquals(1e-6, c.layerNormEpsilon);
        // 219 tensors and 4,762,310,656 parameters, as in the table of docs/models.md §7
        assertEquals(219, T5Encoder.spec(c).size());
        assertEquals(4_762_310_656L, T5Encoder.spec(c).count());
        Files.writeString(dir.resolve("config.json"), T5Config.xxl().toJson().replace("gated-gelu", "relu"));
        IOException e = assertThrows(IOException.class, () -> T5Config.read(dir));
        assertTrue(e.getMessage().contains("feed_forward_proj"), e.getMessage());
        Files.writeString(dir.resolve("config.json"), "{\"feed_forward_proj\": \"gated-gelu\", \"d_model\": 8}");
        e = assertThrows(IOException.class, () -> T5Config.read(dir));
        assertTrue(e.getMessage().contains("d_ff"), e.getMessage());
    }

    @Test
    void encodingFreesItsIntermediates() throws IOException {
        TinyT5.write(dir, 12, TensorType.F32, false);
        try (T5Encoder t5 = T5Encoder.load(dir, TensorType.BF16, m); NDManager call = m.newSubManager()) {
            NDArray ids = call.create(new long[][] {{4, 5, 6, 1, 0, 0}});
            int weights = m.getManagedArrays().size() - call.getManagedArrays().size();
            NDArray out = t5.encode(ids);
            assertEquals(2, call.getManagedArrays().size(), "ids and the output only");
            assertEquals(weights, m.getManagedArrays().size() - call.getManagedArrays().size(), "weights untouched");
            assertFalse(out.isReleased());
            assertThrows(IllegalArgumentException.class, () -> t5.encode(call.create(new long[][] {{4, 128}})));
        }
    }
}
