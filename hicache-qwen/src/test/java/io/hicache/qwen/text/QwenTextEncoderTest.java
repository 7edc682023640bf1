package io.hicache.qwen.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.nn.Parameters;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.WeightStore;
import io.hicache.qwen.text.QwenTextEncoder.Layout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Qwen2.5-VL text encoder against an independent float64 composition of its equations, written
 * here with plain DJL ops from transformers' {@code modeling_qwen2_5_vl.py} (per-head loops for
 * GQA, the mRoPE chunking of {@code apply_multimodal_rotary_pos_emb}), on the tiny checkpoint.
 */
class QwenTextEncoderTest {
    static final long SEED = 12;
    static final QwenTextConfig C = QwenTextConfig.tiny();

    @TempDir
    Path dir;
    NDManager m;

    @BeforeEach
    void setUp() {
        HiCacheRuntime.bootstrap();
        m = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    // ------------------------------------------------------------------ float64 reference

    /** The checkpoint's tensor {@code name} (legacy naming) in float64. */
    static NDArray w(WeightStore s, String name, NDManager m) throws IOException {
        return s.get(name, TensorType.F64, m);
    }

    static NDArray rmsNorm(NDArray x, NDArray w, double eps) {
        return x.div(x.square().mean(new int[] {-1}, true).add(eps).sqrt()).mul(w);
    }

    static NDArray linear(NDArray x, NDArray w, NDArray b) {
        NDArray y = x.matMul(w.transpose());
        return b == null ? y : y.add(b);
    }

    /** transformers' mRoPE: per-axis cos/sin [3, T, D], the head split in chunks mrope_section·2, chunk i from axis i mod 3. */
    static NDArray[] mropeReference(long[][] positions, int[] section, double theta, int d, NDManager m) {
        int t = positions[0].length;
        double[][] cos = new double[3][t * d];
        double[][] sin = new double[3][t * d];
        for (int a = 0; a < 3; a++) {
            for (int p = 0; p < t; p++) {
                for (int j = 0; j < d; j++) {
                    double inv = 1 / Math.pow(theta, (2.0 * (j % (d / 2))) / d);
                    cos[a][p * d + j] = Math.cos(positions[a][p] * inv);
                    sin[a][p * d + j] = Math.sin(positions[a][p] * inv);
                }
            }
        }
        int[] chunks = {section[0], section[1], section[2], section[0], section[1], section[2]};
        double[] c = new double[t * d];
        double[] s = new double[t * d];
        int start = 0;
        for (int i = 0; i < chunks.length; i++) {
            for (int j = start; j < start + chunks[i]; j++) {
                for (int p = 0; p < t; p++) {
                    c[p * d + j] = cos[i % 3][p * d + j];
                    s[p * d + j] = sin[i % 3][p * d + j];
                }
            }
            start += chunks[i];
        }
        return new NDArray[] {m.create(c, new Shape(t, d)), m.create(s, new Shape(t, d))};
    }

    /** x·cos + rotate_half(x)·sin with rotate_half(x) = [−x₂, x₁]. */
    static NDArray rotateHalf(NDArray x, NDArray cos, NDArray sin) {
        long d = x.getShape().get(x.getShape().dimension() - 1);
        NDArray x1 = x.get(new NDIndex("..., :" + d / 2));
        NDArray x2 = x.get(new NDIndex("..., " + d / 2 + ":"));
        return x.mul(cos).add(NDArrays.concat(new NDList(x2.neg(), x1), -1).mul(sin));
    }

    /** Attention of x [T, hidden] (one sequence, float64), causal over its first {@code valid} tokens' keys. */
    static NDArray attentionReference(WeightStore s, String p, NDArray h, NDArray cos, NDArray sin, NDManager m)
            throws IOException {
        int d = C.headDim();
        int t = (int) h.getShape().get(0);
        NDArray q = linear(h, w(s, p + "q_proj.weight", m), w(s, p + "q_proj.bias", m));
        NDArray k = linear(h, w(s, p + "k_proj.weight", m), w(s, p + "k_proj.bias", m));
        NDArray v = linear(h, w(s, p + "v_proj.weight", m), w(s, p + "v_proj.bias", m));
        double[] causal = new double[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) {
                causal[i * t + j] = Double.NEGATIVE_INFINITY;
            }
        }
        NDArray mask = m.create(causal, new Shape(t, t));
        NDList heads = new NDList();
        int perKv = C.numHeads() / C.numKeyValueHeads();
        for (int head = 0; head < C.numHeads(); head++) {
            int g = head / perKv; // transformers' repeat_kv: kv head g serves q heads g·perKv ...
            NDArray qh = rotateHalf(q.get(new NDIndex(":, " + head * d + ":" + (head + 1) * d)), cos, sin);
            NDArray kh = rotateHalf(k.get(new NDIndex(":, " + g * d + ":" + (g + 1) * d)), cos, sin);
            NDArray vh = v.get(new NDIndex(":, " + g * d + ":" + (g + 1) * d));
            NDArray scores = qh.matMul(kh.transpose()).div(Math.sqrt(d)).add(mask);
            NDArray e = scores.sub(scores.max(new int[] {-1}, true)).exp();
            heads.add(e.div(e.sum(new int[] {-1}, true)).matMul(vh));
        }
        return linear(NDArrays.concat(heads, -1), w(s, p + "o_proj.weight", m), null);
    }

    static NDArray layerReference(WeightStore s, int i, NDArray x, NDArray cos, NDArray sin, NDManager m)
            throws IOException {
        String p = "model.layers." + i + ".";
        double eps = C.rmsNormEps();
        NDArray h = rmsNorm(x, w(s, p + "input_layernorm.weight", m), eps);
        x = x.add(attentionReference(s, p + "self_attn.", h, cos, sin, m));
        h = rmsNorm(x, w(s, p + "post_attention_layernorm.weight", m), eps);
        NDArray g = linear(h, w(s, p + "mlp.gate_proj.weight", m), null);
        NDArray silu = g.div(g.neg().exp().add(1));
        NDArray u = linear(h, w(s, p + "mlp.up_proj.weight", m), null);
        return x.add(linear(silu.mul(u), w(s, p + "mlp.down_proj.weight", m), null));
    }

    /** The whole encoder on one unpadded sequence: [T, hidden] float64. */
    static NDArray encoderReference(WeightStore s, long[] ids, NDManager m) throws IOException {
        return encoderReference(s, embeddingReference(s, ids, m), MultimodalRope.textPositions(ids.length), m);
    }

    /** The rows of the token embedding table for {@code ids}: [T, hidden] float64. */
    static NDArray embeddingReference(WeightStore s, long[] ids, NDManager m) throws IOException {
        NDArray table = w(s, "model.embed_tokens.weight", m);
        NDList rows = new NDList();
        for (long id : ids) {
            rows.add(table.get(id).expandDims(0));
        }
        return NDArrays.concat(rows, 0);
    }

    /** The decoder and final norm on input embeddings x [T, hidden] (float64) at mRoPE positions [3][T]. */
    static NDArray encoderReference(WeightStore s, NDArray x, long[][] positions, NDManager m) throws IOException {
        NDArray[] rope = mropeReference(positions, C.mropeSection(), C.ropeTheta(), C.headDim(), m);
        for (int i = 0; i < C.numLayers(); i++) {
            x = layerReference(s, i, x, rope[0], rope[1], m);
        }
        return rmsNorm(x, w(s, "model.norm.weight", m), C.rmsNormEps());
    }

    /** ‖a − b‖ / ‖b‖ over all elements, a in any float dtype. */
    static double relativeError(NDArray a, NDArray b) {
        double[] x = Precision.cast(a, TensorType.F64).toDoubleArray();
        double[] y = b.toDoubleArray();
        assertEquals(y.length, x.length);
        double num = 0;
        double den = 0;
        for (int i = 0; i < x.length; i++) {
            num += (x[i] - y[i]) * (x[i] - y[i]);
            den += y[i] * y[i];
        }
        return Math.sqrt(num / den);
    }

    static long[] randomIds(int n, long seed) {
        Random r = new Random(seed);
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = r.nextInt(C.vocabSize());
        }
        return ids;
    }

    NDArray randomF32(long seed, long... shape) {
        Random r = new Random(seed);
        float[] v = new float[(int) new Shape(shape).size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return m.create(v, new Shape(shape));
    }

    QwenTextEncoder writeAndLoad(Path d, TensorType stored, TensorType compute, Layout layout) throws IOException {
        TinyQwenTextEncoder.write(d, C, SEED, stored, layout, 4);
        return QwenTextEncoder.load(d, compute, m);
    }

    // ------------------------------------------------------------------ tests

    @Test
    void rotateHalfMropeTakesEachFrequencyFromItsSectionsAxis() {
        long[][] positions = {{0, 3, 7, 7, 20}, {1, 5, 2, 9, 11}, {4, 0, 6, 13, 2}}; // unequal axes, as for images
        int[] section = {2, 1, 1};
        NDArray[] mine = MultimodalRope.tables(positions, section, 1e6, 8, m);
        NDArray[] ref = mropeReference(positions, section, 1e6, 8, m);
        assertTrue(relativeError(mine[0], ref[0]) < 1e-6 && relativeError(mine[1], ref[1]) < 1e-6);
        NDArray x = randomF32(1, 2, 3, 5, 8);
        NDArray rotated = Kernels.of(x).ropeRotateHalf(x, mine[0], mine[1]);
        NDArray expected = rotateHalf(x.toType(DataType.FLOAT64, false), ref[0], ref[1]);
        assertTrue(relativeError(rotated, expected) < 1e-6, "rotate-half kernel");
        // text-only: all axes equal, the ordinary 1-D RoPE of positions 0 … T-1
        NDArray[] text = MultimodalRope.tables(MultimodalRope.textPositions(5), section, 1e6, 8, m);
        float[] c = text[0].toFloatArray();
        assertEquals(Math.cos(3 * Math.pow(1e6, -2.0 / 8)), c[3 * 8 + 1], 1e-6);
        assertEquals(c[3 * 8 + 1], c[3 * 8 + 5], 0.0);
    }

    @Test
    void gqaAttentionWithBiasAndOneLayerMatchFloat64() throws IOException {
        try (QwenTextEncoder e = writeAndLoad(dir, TensorType.F32, TensorType.F32, Layout.LEGACY);
                WeightStore s = WeightStore.open(dir)) {
            int t = 6;
            NDArray h = randomF32(2, 1, t, C.hiddenSize());
            NDArray[] rope = MultimodalRope.tables(MultimodalRope.textPositions(t), C.mropeSection(), C.ropeTheta(),
                    C.headDim(), m);
            NDArray[] ref = mropeReference(MultimodalRope.textPositions(t), C.mropeSection(), C.ropeTheta(), C.headDim(), m);
            Parameters p = e.parameters();
            NDArray attn = e.attention(p.scope("model.layers.1.self_attn."), h, rope[0], rope[1], null);
            NDArray h64 = h.toType(DataType.FLOAT64, false).reshape(t, C.hiddenSize());
            NDArray attnRef = attentionReference(s, "model.layers.1.self_attn.", h64, ref[0], ref[1], m);
            double attnErr = relativeError(attn.reshape(t, C.hiddenSize()), attnRef);
            NDArray layer = e.layer(p.scope("model.layers.1."), h, rope[0], rope[1], null);
            double layerErr = relativeError(layer.reshape(t, C.hiddenSize()), layerReference(s, 1, h64, ref[0], ref[1], m));
            System.out.printf("Qwen text attention rel err %.2e, layer %.2e%n", attnErr, layerErr);
            assertTrue(attnErr < 1e-5, "attention " + attnErr);
            assertTrue(layerErr < 1e-5, "layer " + layerErr);
        }
    }

    @Test
    void theWholeEncoderMatchesFloat64InF32AndBf16() throws IOException {
        long[] ids = randomIds(9, 3);
        Path f32 = dir.resolve("f32");
        Path bf16 = dir.resolve("bf16");
        try (QwenTextEncoder e = writeAndLoad(f32, TensorType.F32, TensorType.F32, Layout.LEGACY);
                WeightStore s = WeightStore.open(f32)) {
            NDArray out = e.encode(m.create(ids, new Shape(1, ids.length)), null);
            assertArrayEquals(new long[] {1, ids.length, C.hiddenSize()}, out.getShape().getShape());
            double err = relativeError(out.reshape(ids.length, C.hiddenSize()), encoderReference(s, ids, m));
            System.out.printf("Qwen text encoder float32: rel err %.2e%n", err);
            assertTrue(err < 1e-5, "f32 " + err);
        }
        try (QwenTextEncoder e = writeAndLoad(bf16, TensorType.BF16, TensorType.BF16, Layout.LEGACY);
                WeightStore s = WeightStore.open(bf16)) {
            assertEquals(TensorType.BF16, e.dtype());
            NDArray out = e.encode(m.create(ids, new Shape(1, ids.length)), null);
            assertEquals(TensorType.BF16, Precision.typeOf(out));
            double err = relativeError(out.reshape(ids.length, C.hiddenSize()), encoderReference(s, ids, m));
            System.out.printf("Qwen text encoder bfloat16: rel err %.2e (2^-6 = %.2e)%n", err, Math.pow(2, -6));
            assertTrue(err < 4 * Math.pow(2, -6), "bf16 " + err);
        }
    }

    @Test
    void bothNamingLayoutsLoadToIdenticalOutputsAndNeverReadLmHeadOrVisual() throws IOException {
        long[] ids = randomIds(7, 4);
        Path legacy = dir.resolve("legacy");
        Path nested = dir.resolve("nested");
        try (QwenTextEncoder a = writeAndLoad(legacy, TensorType.F32, TensorType.F32, Layout.LEGACY);
                QwenTextEncoder b = writeAndLoad(nested, TensorType.F32, TensorType.F32, Layout.NESTED);
                WeightStore sa = WeightStore.open(legacy); WeightStore sb = WeightStore.open(nested)) {
            assertTrue(sa.contains("lm_head.weight") && sa.contains("visual.patch_embed.proj.weight"));
            assertTrue(sb.contains("lm_head.weight") && sb.contains("model.visual.patch_embed.proj.weight")
                    && sb.contains("model.language_model.embed_tokens.weight") && !sb.contains("model.embed_tokens.weight"));
            for (int k = 1; k <= 4; k++) {
                assertTrue(Files.isRegularFile(legacy.resolve(String.format("model-%05d-of-00004.safetensors", k))));
            }
            assertTrue(Files.isRegularFile(legacy.resolve("model.safetensors.index.json")));
            int expected = QwenTextEncoder.spec(C).size();
            assertEquals(expected, a.parameters().size());
            assertEquals(expected, b.parameters().size());
            assertTrue(sa.names().size() > expected, "the file holds more than the language model");
            NDArray x = m.create(ids, new Shape(1, ids.length));
            assertArrayEquals(a.encode(x, null).toFloatArray(), b.encode(x, null).toFloatArray());
        }
    }

    /**
     * Rows padded on the left, the right and both sides equal their single runs on their tokens. With
     * padding only on the right, causality alone hides the padding; on the left, the key mask and
     * the positions counted from the first token are what make the rows agree.
     */
    @Test
    void paddedRowsOnEitherSideEqualTheirSingleRuns() throws IOException {
        long[] a = randomIds(5, 6);
        long[] b = randomIds(3, 7);
        long[] c = randomIds(2, 8);
        int pad = 3;
        long[] ids = {
                a[0], a[1], a[2], a[3], a[4],
                pad, pad, b[0], b[1], b[2],
                pad, c[0], c[1], pad, pad};
        long[] mask = {1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0};
        try (QwenTextEncoder e = writeAndLoad(dir, TensorType.F32, TensorType.F32, Layout.LEGACY)) {
            NDArray out = e.encode(m.create(ids, new Shape(3, 5)), m.create(mask, new Shape(3, 5)));
            long[][] rows = {a, b, c};
            int[] first = {0, 2, 1};
            for (int i = 0; i < 3; i++) {
                NDArray single = e.encode(m.create(rows[i], new Shape(1, rows[i].length)), null);
                NDArray part = out.get(new NDIndex(i + ", " + first[i] + ":" + (first[i] + rows[i].length)));
                double err = relativeError(part, single.get(0).toType(DataType.FLOAT64, false));
                assertTrue(err < 1e-5, "row " + i + ": " + err);
            }
        }
    }

    @Test
    void paddedBatchRowsEqualTheirSingleRunsOnKeptTokens() throws IOException {
        TinyQwenTokenizer.write(dir.resolve("tokenizer"));
        TinyQwenTextEncoder.write(dir.resolve("text_encoder"), SEED, TensorType.F32);
        List<String> prompts = List.of("a cat", " ", "a red circle on a blue square in the top left corner");
        try (QwenPromptEncoder enc = QwenPromptEncoder.load(dir, TensorType.F32, m, 512);
                QwenPromptEncoder.Embeddings batch = enc.encode(prompts, m)) {
            int longest = 12 + 5;
            assertArrayEquals(new int[] {2 + 5, 1 + 5, longest}, batch.lengths());
            assertArrayEquals(new long[] {3, longest, C.hiddenSize()}, batch.embeddings().getShape().getShape());
            long[] mask = batch.mask().toLongArray();
            for (int i = 0; i < prompts.size(); i++) {
                try (QwenPromptEncoder.Embeddings single = enc.encode(List.of(prompts.get(i)), m)) {
                    int n = batch.lengths()[i];
                    assertArrayEquals(new long[] {1, n, C.hiddenSize()}, single.embeddings().getShape().getShape());
                    NDArray row = batch.embeddings().get(i);
                    NDArray kept = row.get(new NDIndex(":" + n)).toType(DataType.FLOAT64, false);
                    double err = relativeError(single.embeddings().get(0), kept);
                    assertTrue(err < 1e-5, "row " + i + ": " + err);
                    for (int j = 0; j < longest; j++) {
                        assertEquals(j < n ? 1 : 0, mask[i * longest + j]);
                    }
                    if (n < longest) {
                        float[] rest = row.get(new NDIndex(n + ":")).toFloatArray();
                        for (float v : rest) {
                            assertEquals(0f, v, 0f);
                        }
                    }
                }
            }
            // the embeddings are the encoder's states after the 34 template tokens: the single run equals
            // the plain encoder output from token 34 on
            long[] ids = enc.tokenizer().encode(QwenPromptTemplate.TEXT_TO_IMAGE.fill(prompts.get(0)));
            NDArray full = enc.encoder().encode(m.create(ids, new Shape(1, ids.length)), null);
            NDArray tail = full.get(new NDIndex("0, 34:")).toType(DataType.FLOAT64, false);
            assertEquals(0.0, relativeError(batch.embeddings().get(new NDIndex("0, :7")), tail), 1e-5);
            // one prompt for the pipeline: [1, L, hidden] on the heap, no pooled vector
            TextEmbeddings one = enc.encode(prompts.get(0), m);
            assertArrayEquals(new long[] {1, 7, C.hiddenSize()}, one.tokens().shape());
            assertEquals(null, one.pooled());
            assertEquals(0.0, relativeError(one.tokens().toNDArray(m).get(0), tail), 1e-5);
            // max_sequence_length cuts after the drop
            try (QwenPromptEncoder.Embeddings cut = new QwenPromptEncoder(enc.tokenizer(), enc.encoder(),
                    QwenPromptTemplate.TEXT_TO_IMAGE, 4).encode(prompts, m)) {
                assertArrayEquals(new int[] {4, 4, 4}, cut.lengths());
                NDArray first = batch.embeddings().get(new NDIndex("2, :4")).toType(DataType.FLOAT64, false);
                assertTrue(relativeError(cut.embeddings().get(2), first) < 1e-5);
            }
        }
    }

    @Test
    void aTokenizerWhoseTemplatePrefixIsNot34TokensIsRefused() throws IOException {
        Path tokenizer = dir.resolve("tokenizer");
        TinyQwenTokenizer.write(tokenizer);
        // only <|endoftext|> is an added token: <|im_start|> and <|im_end|> become byte pieces
        Files.writeString(tokenizer.resolve("added_tokens.json"), "{\"<|endoftext|>\": " + TinyQwenTokenizer.addedId(0) + "}");
        Files.writeString(tokenizer.resolve("tokenizer_config.json"), "{}");
        try (Qwen2Tokenizer t = Qwen2Tokenizer.load(tokenizer);
                QwenTextEncoder e = writeAndLoad(dir.resolve("text_encoder"), TensorType.F32, TensorType.F32, Layout.LEGACY)) {
            IOException err = assertThrows(IOException.class,
                    () -> new QwenPromptEncoder(t, e, QwenPromptTemplate.TEXT_TO_IMAGE, 512));
            assertTrue(err.getMessage().contains("merges.txt") && err.getMessage().contains("drops 34"), err.getMessage());
        }
    }

    @Test
    void theRealConfigHas7070619136ParametersWithoutLmHeadAndVisual() throws IOException {
        QwenTextConfig real = QwenTextConfig.qwen25Vl7b();
        assertEquals(7_070_619_136L, QwenTextEncoder.spec(real).count());
        assertEquals(1 + 28 * 12 + 1, QwenTextEncoder.spec(real).size());
        // a config.json as Qwen-Image ships it (legacy flat fields) reads back to the same model
        Files.writeString(dir.resolve("config.json"), real.toJson());
        assertEquals(real, QwenTextConfig.read(dir));
        // newer transformers nest the language model's fields in text_config
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"qwen2_5_vl\", \"text_config\": "
                + real.toJson().replace("\"qwen2_5_vl\"", "\"qwen2_5_vl_text\"") + "}");
        assertEquals(real, QwenTextConfig.read(dir));
    }

    @Test
    void theConfigIsReadStrictly() throws IOException {
        String good = C.toJson();
        for (String[] bad : new String[][] {
                {"\"hidden_act\" : \"silu\"", "\"hidden_act\" : \"gelu\""},
                {"\"model_type\" : \"qwen2_5_vl\"", "\"model_type\" : \"qwen2\""},
                {"\"num_key_value_heads\" : 2", "\"num_key_value_heads\" : 3"},
                {"\"use_sliding_window\" : false", "\"use_sliding_window\" : true"},
                {"\"type\" : \"mrope\"", "\"type\" : \"yarn\""},
                {"\"num_hidden_layers\" : 2,", ""},
                {"\"rms_norm_eps\" : 1.0E-6", "\"rms_norm_eps\" : \"small\""}}) {
            assertTrue(good.contains(bad[0]), bad[0]);
            Files.writeString(dir.resolve("config.json"), good.replace(bad[0], bad[1]));
            IOException e = assertThrows(IOException.class, () -> QwenTextConfig.read(dir), bad[1]);
            assertTrue(e.getMessage().startsWith(dir.resolve("config.json").toString()), e.getMessage());
        }
        int[] wrongSection = {2, 2, 1};
        assertThrows(IllegalArgumentException.class, () -> new QwenTextConfig(32, 48, 2, 4, 2, 576, 1e-6, 1e6, wrongSection));
    }

    @Test
    void closeFreesTheWeightsWhoseBytesItReports() throws IOException {
        QwenTextEncoder f32 = writeAndLoad(dir.resolve("a"), TensorType.BF16, TensorType.F32, Layout.LEGACY);
        QwenTextEncoder bf16 = QwenTextEncoder.load(dir.resolve("a"), TensorType.BF16, m);
        assertEquals(QwenTextEncoder.spec(C).count() * 4, f32.parameterBytes());
        assertEquals(QwenTextEncoder.spec(C).count() * 2, bf16.parameterBytes());
        assertTrue(f32.isOpen());
        f32.close();
        bf16.close();
        assertFalse(f32.isOpen());
        assertFalse(bf16.isOpen());
        assertTrue(m.isOpen());
    }

    @Test
    void badInputsAndCheckpointsAreRefusedWithReasons() throws IOException {
        try (QwenTextEncoder e = writeAndLoad(dir, TensorType.F32, TensorType.F32, Layout.LEGACY)) {
            assertThrows(IllegalArgumentException.class, () -> e.encode(m.create(new long[] {C.vocabSize()}, new Shape(1, 1)), null));
            NDArray ids = m.create(new long[] {1, 2, 3, 4}, new Shape(2, 2));
            assertThrows(IllegalArgumentException.class, () -> e.encode(ids, m.create(new long[] {0, 0, 1, 1}, new Shape(2, 2))));
            assertThrows(IllegalArgumentException.class, () -> e.encode(ids, m.create(new long[] {1, 0}, new Shape(1, 2))));
            assertThrows(IllegalArgumentException.class, () -> e.encode(ids, m.create(new long[] {1, 2, 1, 1}, new Shape(2, 2))));
        }
        Path empty = dir.resolve("no-lm");
        Files.createDirectories(empty);
        Files.writeString(empty.resolve("config.json"), C.toJson());
        new io.hicache.core.weights.TinyWeights(1).normal("visual.x", 0, 1, 2).write(empty.resolve("model.safetensors"),
                TensorType.F32);
        IOException err = assertThrows(IOException.class, () -> QwenTextEncoder.load(empty, TensorType.F32, m));
        assertTrue(err.getMessage().contains("model.language_model.embed_tokens.weight"), err.getMessage());
        assertThrows(IOException.class, () -> QwenTextEncoder.load(dir.resolve("missing"), TensorType.F32, m));
    }
}
