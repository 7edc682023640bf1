package io.hicache.flux.text;

import static io.hicache.core.testing.TensorAssert.maxRelDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.TensorAssert;
import io.hicache.core.weights.CheckpointMismatchException;
import io.hicache.core.weights.SafetensorsWriter;
import io.hicache.core.weights.WeightSource;
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

/** The CLIP text tower against an independent float64 composition (docs/models.md §4.2) and its causal/pooling rules. */
class ClipTextEncoderTest {
    static final double F32_TOL = 1e-5;
    static final double BF16_TOL = 1.0 / 64;
    static final long BOS = TinyClip.VOCAB_SIZE - 2;
    static final long EOS = TinyClip.VOCAB_SIZE - 1;

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

    /** Two prompts: EOS at position 4 and 6, then padding with EOS (as FLUX's tokenizer pads). */
    static final long[][] IDS = {
        {BOS, 64, 300, 520, EOS, EOS, EOS, EOS, EOS, EOS},
        {BOS, 7, 8, 9, 580, 511, EOS, EOS, EOS, EOS},
    };
    static final int[] EOS_AT = {4, 6};

    static NDArray[] reference(WeightSource w, ClipTextConfig c, long[][] ids, TensorType dtype, NDManager m)
            throws IOException {
        int length = ids[0].length;
        long[][] positions = new long[1][length];
        for (int i = 0; i < length; i++) {
            positions[0][i] = i;
        }
        NDArray x = Reference.gather(Reference.weight(w, "embeddings.token_embedding.weight", dtype, m), ids)
                .add(Reference.gather(Reference.weight(w, "embeddings.position_embedding.weight", dtype, m), positions));
        NDArray mask = Reference.causalMask(m, length);
        long b = ids.length;
        int heads = c.numHeads;
        int hd = c.headDim();
        for (int i = 0; i < c.numLayers; i++) {
            String p = "encoder.layers." + i + ".";
            NDArray h = Reference.layerNorm(x, Reference.weight(w, p + "layer_norm1.weight", dtype, m),
                    Reference.weight(w, p + "layer_norm1.bias", dtype, m), c.layerNormEps);
            NDArray[] qkv = new NDArray[3];
            String[] names = {"q_proj", "k_proj", "v_proj"};
            for (int j = 0; j < 3; j++) {
                qkv[j] = Reference.linear(h, Reference.weight(w, p + "self_attn." + names[j] + ".weight", dtype, m),
                        Reference.weight(w, p + "self_attn." + names[j] + ".bias", dtype, m))
                        .reshape(b, length, heads, hd).transpose(0, 2, 1, 3);
            }
            NDArray o = Reference.attention(qkv[0], qkv[1], qkv[2], mask, 1 / Math.sqrt(hd))
                    .transpose(0, 2, 1, 3).reshape(b, length, c.hiddenSize);
            x = x.add(Reference.linear(o, Reference.weight(w, p + "self_attn.out_proj.weight", dtype, m),
                    Reference.weight(w, p + "self_attn.out_proj.bias", dtype, m)));
            h = Reference.layerNorm(x, Reference.weight(w, p + "layer_norm2.weight", dtype, m),
                    Reference.weight(w, p + "layer_norm2.bias", dtype, m), c.layerNormEps);
            NDArray a = Reference.linear(h, Reference.weight(w, p + "mlp.fc1.weight", dtype, m),
                    Reference.weight(w, p + "mlp.fc1.bias", dtype, m));
            a = c.activation == ClipTextConfig.Activation.QUICK_GELU ? Reference.quickGelu(a) : Reference.geluErf(a);
            x = x.add(Reference.linear(a, Reference.weight(w, p + "mlp.fc2.weight", dtype, m),
                    Reference.weight(w, p + "mlp.fc2.bias", dtype, m)));
        }
        NDArray hidden = Reference.layerNorm(x, Reference.weight(w, "final_layer_norm.weight", dtype, m),
                Reference.weight(w, "final_layer_norm.bias", dtype, m), c.layerNormEps);
        NDList rows = new NDList();
        for (int i = 0; i < ids.length; i++) {
            rows.add(hidden.get(new NDIndex("{}, {}", i, EOS_AT[i])));
        }
        return new NDArray[] {hidden, NDArrays.stack(rows)};
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "BF16"})
    void encoderMatchesTheFloat64Reference(TensorType dtype) throws IOException {
        TinyClip.write(dir, 21, TensorType.F32);
        try (ClipTextEncoder clip = ClipTextEncoder.load(dir, dtype, m); WeightStore w = WeightStore.open(dir)) {
            ClipTextEncoder.Output out = clip.encode(m.create(IDS));
            assertArrayEquals(new long[] {2, 10, 32}, out.hiddenStates().getShape().getShape());
            assertArrayEquals(new long[] {2, 32}, out.pooled().getShape().getShape());
            assertEquals(dtype, Precision.typeOf(out.pooled()));
            NDArray[] ref = reference(w.scope("text_model."), clip.config(), IDS, dtype, m);
            double relHidden = maxRelDiff(ref[0], out.hiddenStates());
            double relPooled = maxRelDiff(ref[1], out.pooled());
            System.out.printf("CLIP %s: max rel diff hidden %.3g pooled %.3g%n", dtype.displayName(), relHidden, relPooled);
            double tol = dtype == TensorType.BF16 ? BF16_TOL : F32_TOL;
            assertTrue(relHidden < tol && relPooled < tol, relHidden + " " + relPooled);
        }
    }

    @Test
    void geluFromTheConfigIsTheExactErfForm() throws IOException {
        ClipTextConfig t = ClipTextConfig.tiny();
        ClipTextConfig gelu = new ClipTextConfig(t.vocabSize, t.hiddenSize, t.intermediateSize, t.numLayers, t.numHeads,
                t.maxPositions, ClipTextConfig.Activation.GELU, t.layerNormEps, t.eosTokenId);
        TinyClip.write(dir, gelu, 22, TensorType.F32);
        assertTrue(Files.readString(dir.resolve("config.json")).contains("\"hidden_act\" : \"gelu\""));
        try (ClipTextEncoder clip = ClipTextEncoder.load(dir, TensorType.F32, m); WeightStore w = WeightStore.open(dir)) {
            assertEquals(ClipTextConfig.Activation.GELU, clip.config().activation);
            NDArray[] ref = reference(w.scope("text_model."), clip.config(), IDS, TensorType.F32, m);
            assertTrue(maxRelDiff(ref[0], clip.encode(m.create(IDS)).hiddenStates()) < F32_TOL);
        }
    }

    @Test
    void statesDependOnlyOnEarlierTokens() throws IOException {
        TinyClip.write(dir, 23, TensorType.F32);
        try (ClipTextEncoder clip = ClipTextEncoder.load(dir, TensorType.F32, m)) {
            long[][] changed = {IDS[0].clone()};
            changed[0][2] = 99; // before the EOS at 4
            ClipTextEncoder.Output a = clip.encode(m.create(new long[][] {IDS[0]}));
            ClipTextEncoder.Output b = clip.encode(m.create(changed));
            TensorAssert.assertBitEqual(a.hiddenStates().get(new NDIndex(":, 0:2")), b.hiddenStates().get(new NDIndex(":, 0:2")),
                    "positions before the change");
            assertTrue(TensorAssert.maxAbsDiff(a.hiddenStates().get(new NDIndex(":, 2:")),
                    b.hiddenStates().get(new NDIndex(":, 2:"))) > 1e-4, "positions from the change on move");

            long[][] afterEos = {IDS[0].clone()};
            afterEos[0][7] = 123; // a padding slot after the first EOS
            ClipTextEncoder.Output c = clip.encode(m.create(afterEos));
            TensorAssert.assertBitEqual(a.pooled(), c.pooled(), "pooled output ignores tokens after the EOS");
            TensorAssert.assertBitEqual(a.hiddenStates().get(new NDIndex(":, 0:7")), c.hiddenStates().get(new NDIndex(":, 0:7")),
                    "states before the change");
        }
    }

    @Test
    void pooledIsTheStateAtTheFirstEos() throws IOException {
        TinyClip.write(dir, 24, TensorType.F32);
        try (ClipTextEncoder clip = ClipTextEncoder.load(dir, TensorType.F32, m)) {
            ClipTextEncoder.Output out = clip.encode(m.create(IDS));
            for (int b = 0; b < 2; b++) {
                TensorAssert.assertBitEqual(out.hiddenStates().get(new NDIndex("{}, {}", b, EOS_AT[b])),
                        out.pooled().get(b), "row " + b);
            }
            // legacy rule (eos_token_id 2): argmax = first occurrence of the largest id
            assertEquals(3, clip.poolPosition(new long[] {BOS, 5, 6, EOS, EOS}, 0, 5));
            // the second row of a flat [2, 4] batch: {BOS, 9, EOS, EOS} → its own position 2
            assertEquals(2, clip.poolPosition(new long[] {BOS, EOS, 0, 0, BOS, 9, EOS, EOS}, 4, 4));
        }
        // a config with a real eos id uses its first occurrence, whatever the largest id
        ClipTextConfig t = ClipTextConfig.tiny();
        ClipTextConfig modern = new ClipTextConfig(t.vocabSize, t.hiddenSize, t.intermediateSize, t.numLayers, t.numHeads,
                t.maxPositions, t.activation, t.layerNormEps, 40);
        Path d2 = dir.resolve("modern");
        TinyClip.write(d2, modern, 24, TensorType.F32);
        try (ClipTextEncoder clip = ClipTextEncoder.load(d2, TensorType.F32, m)) {
            assertEquals(2, clip.poolPosition(new long[] {BOS, 300, 40, EOS, 40}, 0, 5));
        }
    }

    @Test
    void aStoredPositionIdsBufferIsIgnored() throws IOException {
        Path base = dir.resolve("base");
        TinyClip.write(base, 25, TensorType.BF16);
        Path withIds = dir.resolve("ids");
        Files.createDirectories(withIds);
        Files.copy(base.resolve("config.json"), withIds.resolve("config.json"));
        SafetensorsWriter out = new SafetensorsWriter();
        try (WeightStore w = WeightStore.open(base)) {
            for (String n : w.names()) {
                out.add(n, w.get(n, m));
            }
        }
        long[] pos = new long[77];
        for (int i = 0; i < 77; i++) {
            pos[i] = i;
        }
        out.add("text_model.embeddings.position_ids", m.create(pos).reshape(1, 77));
        out.write(withIds.resolve("model.safetensors"));
        try (ClipTextEncoder a = ClipTextEncoder.load(base, TensorType.BF16, m);
                ClipTextEncoder b = ClipTextEncoder.load(withIds, TensorType.BF16, m)) {
            TensorAssert.assertBitEqual(a.encode(m.create(IDS)).pooled(), b.encode(m.create(IDS)).pooled(), "pooled");
        }
    }

    @Test
    void aMissingTensorIsReportedByName() throws IOException {
        Path base = dir.resolve("base");
        TinyClip.write(base, 26, TensorType.F32);
        Path broken = dir.resolve("broken");
        Files.createDirectories(broken);
        Files.copy(base.resolve("config.json"), broken.resolve("config.json"));
        SafetensorsWriter out = new SafetensorsWriter();
        try (WeightStore w = WeightStore.open(base)) {
            for (String n : w.names()) {
                if (!n.endsWith("layers.1.self_attn.k_proj.bias")) {
                    out.add(n, w.get(n, m));
                }
            }
        }
        out.write(broken.resolve("model.safetensors"));
        CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                () -> ClipTextEncoder.load(broken, TensorType.F32, m));
        assertEquals(List.of("encoder.layers.1.self_attn.k_proj.bias"), e.missing());
    }

    @Test
    void configIsReadAndInputsAreChecked() throws IOException {
        Files.writeString(dir.resolve("config.json"), ClipTextConfig.large().toJson());
        ClipTextConfig c = ClipTextConfig.read(dir);
        assertEquals(768, c.hiddenSize);
        assertEquals(ClipTextConfig.Activation.QUICK_GELU, c.activation);
        // 196 tensors and 123,060,480 parameters, as in the table of docs/models.md §7
        assertEquals(196, ClipTextEncoder.spec(c).size());
        assertEquals(123_060_480L, ClipTextEncoder.spec(c).count());
        Files.writeString(dir.resolve("config.json"), ClipTextConfig.large().toJson().replace("quick_gelu", "relu"));
        assertThrows(IOException.class, () -> ClipTextConfig.read(dir));

        Path tiny = dir.resolve("tiny");
        TinyClip.write(tiny, 27, TensorType.F32);
        try (ClipTextEncoder clip = ClipTextEncoder.load(tiny, TensorType.F32, m); NDManager call = m.newSubManager()) {
            assertThrows(IllegalArgumentException.class, () -> clip.encode(call.create(new long[1][78])));
            assertThrows(IllegalArgumentException.class, () -> clip.encode(call.create(new long[][] {{EOS + 1}})));
            NDArray ids = call.create(IDS);
            int before = call.getManagedArrays().size();
            ClipTextEncoder.Output out = clip.encode(ids);
            assertEquals(before + 2, call.getManagedArrays().size(), "hidden states and pooled only");
            out.close();
            assertEquals(before, call.getManagedArrays().size(), "closing the output frees both");
        }
    }
}
