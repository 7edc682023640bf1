package io.hicache.qwen.text;

import static io.hicache.qwen.text.QwenTextEncoderTest.C;
import static io.hicache.qwen.text.QwenTextEncoderTest.embeddingReference;
import static io.hicache.qwen.text.QwenTextEncoderTest.encoderReference;
import static io.hicache.qwen.text.QwenTextEncoderTest.relativeError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.WeightStore;
import io.hicache.qwen.text.QwenTextEncoder.Layout;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The text encoder's image path (Qwen-Image-Edit): vision features in place of the image tokens'
 * embeddings, 3-D mRoPE positions, against the float64 composition of {@link QwenTextEncoderTest}
 * fed the same input embeddings and positions; the features are seeded random rows standing for
 * the vision tower's output.
 */
class QwenTextEncoderImageTest {
    static final long SEED = 12;
    /** Stands for {@code <|image_pad|>}: the encoder only matches the id it is given. */
    static final long IMAGE = 7;
    /** 3 text tokens, an image of 1×4×6 patches (a 2×3 merge grid, 6 tokens), 2 text tokens after. */
    static final long[] IDS = {101, 202, 303, IMAGE, IMAGE, IMAGE, IMAGE, IMAGE, IMAGE, 404, 505};
    /** get_rope_index of {@link #IDS}, worked out in {@link QwenEditPromptTest#getRopeIndexForOneImageWorkedByHand}. */
    static final long[][] POSITIONS = {
            {0, 1, 2, 3, 3, 3, 3, 3, 3, 6, 7},
            {0, 1, 2, 3, 3, 3, 4, 4, 4, 6, 7},
            {0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7}};

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

    NDArray features(long seed, int n) {
        Random r = new Random(seed);
        float[] v = new float[n * C.hiddenSize()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return m.create(v, new Shape(n, C.hiddenSize()));
    }

    QwenTextEncoder load(Path d, TensorType stored, TensorType compute) throws IOException {
        TinyQwenTextEncoder.write(d, C, SEED, stored, Layout.LEGACY, 4);
        return QwenTextEncoder.load(d, compute, m);
    }

    /** Input embeddings [T, hidden] float64: table rows for the text, the features for the image run. */
    static NDArray inputsReference(WeightStore s, long[] ids, int start, NDArray features, NDManager m) throws IOException {
        int n = (int) features.getShape().get(0);
        NDList parts = new NDList();
        if (start > 0) {
            parts.add(embeddingReference(s, Arrays.copyOfRange(ids, 0, start), m));
        }
        parts.add(features.toType(DataType.FLOAT64, false));
        if (start + n < ids.length) {
            parts.add(embeddingReference(s, Arrays.copyOfRange(ids, start + n, ids.length), m));
        }
        return NDArrays.concat(parts, 0);
    }

    @Test
    void aSequenceWithAnImageMatchesFloat64InF32AndBf16() throws IOException {
        assertArrayEquals(POSITIONS, MultimodalRope.imagePositions(IDS, IMAGE, 1, 4, 6, 2));
        NDArray f = features(3, 6);
        Path f32 = dir.resolve("f32");
        Path bf16 = dir.resolve("bf16");
        try (QwenTextEncoder e = load(f32, TensorType.F32, TensorType.F32); WeightStore s = WeightStore.open(f32)) {
            NDArray out = e.encodeWithImage(m.create(IDS, new Shape(1, IDS.length)), IMAGE, f, POSITIONS);
            assertArrayEquals(new long[] {1, IDS.length, C.hiddenSize()}, out.getShape().getShape());
            NDArray ref = encoderReference(s, inputsReference(s, IDS, 3, f, m), POSITIONS, m);
            double err = relativeError(out.reshape(IDS.length, C.hiddenSize()), ref);
            // the image's positions differ per axis; on text positions alone the result would move by O(1)
            double moved = relativeError(out.reshape(IDS.length, C.hiddenSize()),
                    encoderReference(s, inputsReference(s, IDS, 3, f, m), MultimodalRope.textPositions(IDS.length), m));
            System.out.printf("Qwen text encoder with an image, float32: rel err %.2e (text positions instead: %.2e)%n",
                    err, moved);
            // float32 against float64 through 2 layers, as for the text path
            assertTrue(err < 1e-5, "f32 " + err);
            assertTrue(moved > 1e-3, "the 3-D positions matter: " + moved);
        }
        try (QwenTextEncoder e = load(bf16, TensorType.BF16, TensorType.BF16); WeightStore s = WeightStore.open(bf16)) {
            // float32 features are cast to the compute dtype, as masked_scatter casts them to inputs_embeds' dtype
            NDArray out = e.encodeWithImage(m.create(IDS, new Shape(1, IDS.length)), IMAGE, f, POSITIONS);
            assertEquals(TensorType.BF16, Precision.typeOf(out));
            NDArray ref = encoderReference(s, inputsReference(s, IDS, 3, f, m), POSITIONS, m);
            double err = relativeError(out.reshape(IDS.length, C.hiddenSize()), ref);
            System.out.printf("Qwen text encoder with an image, bfloat16: rel err %.2e%n", err);
            // bf16 keeps 8 bits of mantissa; a few roundings per layer stay within a few 2^-6, as for the text path
            assertTrue(err < 4 * Math.pow(2, -6), "bf16 " + err);
        }
    }

    /**
     * Features equal to the image token's own embedding rows, at text positions 0 … T−1, make the
     * image path compute exactly what the text path computes: the same ops on the same values.
     */
    @Test
    void tokenEmbeddingsAsFeaturesAtTextPositionsReproduceTheTextPathBitForBit() throws IOException {
        try (QwenTextEncoder e = load(dir, TensorType.F32, TensorType.F32); WeightStore s = WeightStore.open(dir)) {
            NDArray table = s.get("model.embed_tokens.weight", TensorType.F32, m);
            NDArray own = table.get(new NDIndex(IMAGE + ":" + (IMAGE + 1))).repeat(0, 6);
            NDArray ids = m.create(IDS, new Shape(1, IDS.length));
            float[] text = e.encode(ids, null).toFloatArray();
            float[] image = e.encodeWithImage(ids, IMAGE, own, MultimodalRope.textPositions(IDS.length)).toFloatArray();
            assertArrayEquals(text, image);
        }
    }

    /**
     * Attention is causal: other features leave the states of the tokens before the image exactly
     * as they were, and change the image's and the later tokens'.
     */
    @Test
    void otherFeaturesChangeOnlyTheImageAndTheTokensAfterIt() throws IOException {
        try (QwenTextEncoder e = load(dir, TensorType.F32, TensorType.F32)) {
            NDArray ids = m.create(IDS, new Shape(1, IDS.length));
            NDArray a = e.encodeWithImage(ids, IMAGE, features(3, 6), POSITIONS).get(0);
            NDArray b = e.encodeWithImage(ids, IMAGE, features(4, 6), POSITIONS).get(0);
            assertArrayEquals(a.get(new NDIndex(":3")).toFloatArray(), b.get(new NDIndex(":3")).toFloatArray());
            for (int j = 3; j < IDS.length; j++) {
                double d = relativeError(b.get(j), a.get(j).toType(DataType.FLOAT64, false));
                assertTrue(d > 1e-2, "token " + j + " moved by " + d);
            }
        }
    }

    @Test
    void featuresThatDoNotFitTheImageTokensAreRefused() throws IOException {
        try (QwenTextEncoder e = load(dir, TensorType.F32, TensorType.F32)) {
            NDArray ids = m.create(IDS, new Shape(1, IDS.length));
            IllegalArgumentException count = assertThrows(IllegalArgumentException.class,
                    () -> e.encodeWithImage(ids, IMAGE, features(3, 5), POSITIONS));
            assertTrue(count.getMessage().contains("6 tokens") && count.getMessage().contains("5 feature rows"),
                    count.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> e.encodeWithImage(ids, IMAGE, m.zeros(new Shape(6, 16)), POSITIONS));
            assertThrows(IllegalArgumentException.class,
                    () -> e.encodeWithImage(ids, IMAGE, m.zeros(new Shape(6, C.hiddenSize()), DataType.INT32), POSITIONS));
            assertThrows(IllegalArgumentException.class, () -> e.encodeWithImage(ids, 99, features(3, 6), POSITIONS));
            long[] split = IDS.clone();
            split[5] = 9;
            IllegalArgumentException run = assertThrows(IllegalArgumentException.class,
                    () -> e.encodeWithImage(m.create(split, new Shape(1, split.length)), IMAGE, features(3, 5), POSITIONS));
            assertTrue(run.getMessage().contains("one run"), run.getMessage());
            long[][] short3 = {Arrays.copyOf(POSITIONS[0], 10), Arrays.copyOf(POSITIONS[1], 10), Arrays.copyOf(POSITIONS[2], 10)};
            assertThrows(IllegalArgumentException.class, () -> e.encodeWithImage(ids, IMAGE, features(3, 6), short3));
            NDArray two = m.create(new long[2 * IDS.length], new Shape(2, IDS.length));
            assertThrows(IllegalArgumentException.class, () -> e.encodeWithImage(two, IMAGE, features(3, 6), POSITIONS));
        }
    }

    /**
     * The prompt encoder with the Edit template: the kept states are the encoder's from token 64 on,
     * starting at {@code <|vision_start|>}, for the prompt and for the negative prompt alike.
     */
    @Test
    void theEditPromptEncoderKeepsTheStatesFromVisionStartOn() throws IOException {
        TinyQwenTokenizer.write(dir.resolve("tokenizer"));
        TinyQwenTextEncoder.write(dir.resolve("text_encoder"), SEED, TensorType.F32);
        NDArray f = features(5, 6);
        try (QwenPromptEncoder enc = QwenPromptEncoder.load(dir, TensorType.F32, m, QwenPromptTemplate.EDIT,
                QwenPromptBatch.DEFAULT_MAX_SEQUENCE_LENGTH); WeightStore s = WeightStore.open(dir.resolve("text_encoder"))) {
            assertEquals(QwenPromptTemplate.EDIT, enc.template());
            long[] ids = enc.tokenizeWithImage("a red circle", 1, 4, 6).ids()[0];
            long pad = enc.tokenizer().tokenId("<|image_pad|>");
            assertEquals(enc.tokenizer().tokenId("<|vision_start|>"), ids[64]);
            NDArray kept = enc.encodeWithImage("a red circle", f, 1, 4, 6, m);
            // <|vision_start|>, 6 vision tokens, <|vision_end|>, 3 prompt tokens, the 5-token suffix
            assertArrayEquals(new long[] {1, 8 + 3 + 5, C.hiddenSize()}, kept.getShape().getShape());
            long[][] positions = MultimodalRope.imagePositions(ids, pad, 1, 4, 6, 2);
            NDArray full = enc.encoder().encodeWithImage(m.create(ids, new Shape(1, ids.length)), pad, f, positions);
            assertArrayEquals(full.get(new NDIndex("0, 64:")).toFloatArray(), kept.get(0).toFloatArray());
            NDArray ref = encoderReference(s, inputsReference(s, ids, 65, f, m), positions, m);
            double err = relativeError(kept.get(0), ref.get(new NDIndex("64:")));
            assertTrue(err < 1e-5, "f32 " + err);
            // the negative prompt " " is encoded with the same image: 8 + 1 + 5 tokens
            TextEmbeddings negative = enc.encodeWithImage(" ", f, 1, 4, 6);
            assertArrayEquals(new long[] {1, 14, C.hiddenSize()}, negative.tokens().shape());
            assertNull(negative.pooled());
            // the image states come before the prompt, so causal attention makes them the same whatever the
            // prompt; the two sequences differ in length, so the kernels block their sums differently and
            // the states agree to float32 rounding (about 1e-7), not bit for bit
            NDArray image = negative.tokens().toNDArray(m).get(new NDIndex("0, :8"));
            double same = relativeError(image, kept.get(new NDIndex("0, :8")).toType(DataType.FLOAT64, false));
            assertTrue(same < 1e-6, "image states of the prompt and the negative prompt: " + same);
            assertThrows(IllegalStateException.class, () -> enc.encode("a cat", m));
            IllegalArgumentException grid = assertThrows(IllegalArgumentException.class,
                    () -> enc.encodeWithImage("a", f, 1, 4, 4, m));
            assertTrue(grid.getMessage().contains("do not match"), grid.getMessage());
        }
        try (QwenPromptEncoder t2i = QwenPromptEncoder.load(dir, TensorType.F32, m, 512)) {
            assertThrows(IllegalStateException.class, () -> t2i.encodeWithImage("a", f, 1, 4, 6, m));
            assertEquals(2 + 5, t2i.encode(List.of("a cat"), m).lengths()[0]);
        }
    }
}
