package io.hicache.qwen.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import io.hicache.core.nn.Layers;
import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.nn.Parameters;
import io.hicache.core.nn.Scopes;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.Checkpoints;
import io.hicache.core.weights.RenamedWeightSource;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The language model of Qwen2.5-VL as Qwen-Image's text encoder: token embedding, decoder layers
 * ({@code x += o_proj(GQA-Attn(RoPE(q), RoPE(k), v))} on {@code input_layernorm(x)}, then
 * {@code x += down_proj(SiLU(gate_proj(n)) ⊙ up_proj(n))} on {@code post_attention_layernorm(x)}),
 * and the final RMSNorm; the output is {@code hidden_states[-1]}, taken after that norm. q/k/v
 * have biases, o_proj has none; RoPE is the rotate-half mRoPE of {@link MultimodalRope}; attention
 * is causal, plus a key padding mask for padded batches. A sequence may hold one image whose
 * vision-tower features replace the embeddings of its image tokens ({@link #encodeWithImage}).
 *
 * <p>Only the language model is loaded. The checkpoint may name it {@code model.*} (the legacy
 * layout Qwen-Image ships, next to {@code visual.*}) or {@code model.language_model.*} (newer
 * transformers, next to {@code model.visual.*}); the vision tower and {@code lm_head} are never read.
 */
public final class QwenTextEncoder implements AutoCloseable {
    /** How a checkpoint names the language model. */
    public enum Layout {
        /** {@code model.*}, {@code visual.*}, {@code lm_head.*}: what Qwen-Image's text_encoder/ holds. */
        LEGACY("model.", "visual."),
        /** {@code model.language_model.*}, {@code model.visual.*}, {@code lm_head.*}: transformers ≥ 4.52. */
        NESTED("model.language_model.", "model.visual.");

        private final String languageModel;
        private final String visual;

        Layout(String languageModel, String visual) {
            this.languageModel = languageModel;
            this.visual = visual;
        }

        /** The prefix of the language model's tensors. */
        public String languageModel() {
            return languageModel;
        }

        /** The prefix of the vision tower's tensors. */
        public String visual() {
            return visual;
        }

        /** The stored name of a parameter named {@code model.X} in {@link #spec}. */
        public String stored(String canonical) {
            return languageModel + canonical.substring(CANONICAL.length());
        }

        /** The layout of {@code source}, recognised by where its token embedding is. */
        public static Layout of(WeightSource source) throws IOException {
            for (Layout l : values()) {
                if (source.contains(l.languageModel + "embed_tokens.weight")) {
                    return l;
                }
            }
            throw new IOException(source.describe() + ": no Qwen2.5-VL language model in it (neither "
                    + LEGACY.languageModel + "embed_tokens.weight nor " + NESTED.languageModel + "embed_tokens.weight)");
        }
    }

    /** The prefix of {@link #spec}'s names, which are the legacy ones. */
    static final String CANONICAL = "model.";
    static final String EMBEDDING = "model.embed_tokens.weight";
    static final String FINAL_NORM = "model.norm.weight";
    /** The additive mask of hidden keys: exp underflows to exactly 0 after it in fp32 and bf16. */
    static final float MASKED = -1e9f;

    private final QwenTextConfig config;
    private final TensorType dtype;
    private final Parameters params;
    private final Parameters[] layers;
    private final Kernels kernels;

    private QwenTextEncoder(QwenTextConfig config, TensorType dtype, Parameters params) {
        this.config = config;
        this.dtype = dtype;
        this.params = params;
        this.layers = new Parameters[config.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = params.scope("model.layers." + i + ".");
        }
        this.kernels = Kernels.on(params.manager().getDevice());
    }

    /**
     * Loads {@code text_encoder/}: config.json and the safetensors weights (sharded with
     * {@code model.safetensors.index.json}, or single files) on {@code manager}'s device.
     */
    public static QwenTextEncoder load(Path dir, TensorType dtype, NDManager manager) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "missing text encoder folder: " + HOW_TO_GET);
        }
        QwenTextConfig config = QwenTextConfig.read(dir);
        try (WeightStore store = WeightStore.open(dir)) {
            return load(store, config, dtype, manager);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(e.getFile(), null, e.getReason() + ": " + HOW_TO_GET);
        }
    }

    /**
     * Checks {@code text_encoder/} from its config and the safetensors headers alone: the language
     * model's layer count, then every tensor's name and shape (in either naming layout).
     *
     * @return the config
     */
    public static QwenTextConfig check(Path dir) throws IOException {
        QwenTextConfig config = QwenTextConfig.read(dir);
        try (WeightStore store = WeightStore.open(dir)) {
            WeightSource lm = languageModel(store, config);
            Checkpoints.requireBlocks(store, Layout.of(store).languageModel() + "layers.", config.numLayers(),
                    "num_hidden_layers = " + config.numLayers());
            lm.verify(spec(config).shapes());
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(e.getFile(), null, e.getReason() + ": " + HOW_TO_GET);
        }
        return config;
    }

    static final String HOW_TO_GET = "expected text_encoder/ of the Hugging Face repository Qwen/Qwen-Image"
            + " (config.json, model-0000k-of-00004.safetensors and model.safetensors.index.json), or a tiny model"
            + " written by `hicache init-tiny qwen-image`";

    /** Loads the language model of {@code config} from {@code source} in either naming layout. */
    public static QwenTextEncoder load(WeightSource source, QwenTextConfig config, TensorType dtype, NDManager manager)
            throws IOException {
        if (dtype != TensorType.F32 && dtype != TensorType.BF16) {
            throw new IllegalArgumentException("compute dtype must be float32 or bfloat16, got " + dtype.displayName());
        }
        return new QwenTextEncoder(config, dtype,
                Parameters.load(languageModel(source, config), spec(config), dtype, manager));
    }

    /** {@code source} seen with {@link #spec}'s names: the language model only, whatever its layout. */
    static WeightSource languageModel(WeightSource source, QwenTextConfig config) throws IOException {
        Layout layout = Layout.of(source);
        RenamedWeightSource.Builder b = RenamedWeightSource.over(source);
        for (String name : spec(config).shapes().keySet()) {
            String stored = layout.stored(name);
            if (source.contains(stored)) {
                b.map(name, stored);
            }
        }
        return b.build();
    }

    /** Every parameter of the language model (without lm_head), with legacy names. */
    public static ParameterSpec spec(QwenTextConfig c) {
        ParameterSpec s = new ParameterSpec().add(EMBEDDING, c.vocabSize(), c.hiddenSize());
        for (int i = 0; i < c.numLayers(); i++) {
            String l = "model.layers." + i + ".";
            s.norm(l + "input_layernorm", c.hiddenSize(), false)
                    .linear(l + "self_attn.q_proj", c.hiddenSize(), c.hiddenSize(), true)
                    .linear(l + "self_attn.k_proj", c.kvDim(), c.hiddenSize(), true)
                    .linear(l + "self_attn.v_proj", c.kvDim(), c.hiddenSize(), true)
                    .linear(l + "self_attn.o_proj", c.hiddenSize(), c.hiddenSize(), false)
                    .norm(l + "post_attention_layernorm", c.hiddenSize(), false)
                    .linear(l + "mlp.gate_proj", c.intermediateSize(), c.hiddenSize(), false)
                    .linear(l + "mlp.up_proj", c.intermediateSize(), c.hiddenSize(), false)
                    .linear(l + "mlp.down_proj", c.hiddenSize(), c.intermediateSize(), false);
        }
        return s.norm("model.norm", c.hiddenSize(), false);
    }

    public QwenTextConfig config() {
        return config;
    }

    public TensorType dtype() {
        return dtype;
    }

    /** Bytes held by the weights (all freed by {@link #close()}). */
    public long parameterBytes() {
        return params.bytes();
    }

    /**
     * Token ids [B, T] (int64 or int32) → hidden states after the final norm [B, T, hidden] in the
     * compute dtype, attached to the manager of {@code ids}. {@code mask} [B, T] (1 = token,
     * 0 = padding, at least one token per row) may be null when no row is padded. As in
     * transformers, the tokens of a row get positions 0 … n−1 in order whatever the padding
     * (left, right or both), and no token attends to padding; the states at padding positions are
     * unspecified.
     */
    public NDArray encode(NDArray ids, NDArray mask) {
        long[] flatIds = checkIds(ids);
        int batch = (int) ids.getShape().get(0);
        int length = (int) ids.getShape().get(1);
        long[] flatMask = mask == null ? null : checkMask(mask, batch, length);
        return Scopes.apply(ids, in -> {
            NDManager m = in.getManager();
            NDArray index = m.create(flatIds, new Shape(batch, length));
            NDArray x = Embedding.embedding(index, params.get(EMBEDDING), SparseFormat.DENSE).singletonOrThrow();
            NDArray[] rope = flatMask == null
                    ? MultimodalRope.tables(MultimodalRope.textPositions(length), config.mropeSection(),
                            config.ropeTheta(), config.headDim(), m)
                    : ropeOfRows(flatMask, batch, length, m);
            NDArray additive = flatMask == null ? null : paddingMask(flatMask, batch, length, m);
            return decoder(x, rope, additive);
        });
    }

    /**
     * One sequence holding one image, as Qwen2.5-VL's forward runs it: token ids [1, T] (int64 or
     * int32) are embedded, the rows at the {@code n} tokens equal to {@code imageTokenId} (one
     * contiguous run, the processor's expanded {@code <|image_pad|>}) are replaced in order by
     * {@code imageFeatures} [n, hidden] (the vision tower's output, cast to the compute dtype as
     * transformers' {@code masked_scatter} does), and the decoder runs causally with RoPE at
     * {@code positions} [3][T] ({@link MultimodalRope#imagePositions}). Returns the hidden states
     * after the final norm [1, T, hidden] in the compute dtype, attached to the manager of
     * {@code ids}.
     */
    public NDArray encodeWithImage(NDArray ids, long imageTokenId, NDArray imageFeatures, long[][] positions) {
        long[] flatIds = checkIds(ids);
        if (ids.getShape().get(0) != 1) {
            throw new IllegalArgumentException("a sequence with an image is encoded alone: ids must have shape [1, length],"
                    + " got " + ids.getShape());
        }
        int length = flatIds.length;
        int start = -1;
        int count = 0;
        for (int j = 0; j < length; j++) {
            if (flatIds[j] == imageTokenId) {
                if (start >= 0 && flatIds[j - 1] != imageTokenId) {
                    throw new IllegalArgumentException("the image tokens (id " + imageTokenId
                            + ") must form one run; another starts at " + j);
                }
                start = start < 0 ? j : start;
                count++;
            }
        }
        Shape features = imageFeatures.getShape();
        if (features.dimension() != 2 || features.get(1) != config.hiddenSize()) {
            throw new IllegalArgumentException("image features must have shape [tokens, " + config.hiddenSize()
                    + "], got " + features);
        }
        if (count == 0 || features.get(0) != count) {
            throw new IllegalArgumentException("image features and image tokens do not match: " + count
                    + " tokens (id " + imageTokenId + "), " + features.get(0) + " feature rows");
        }
        TensorType featureType = Precision.typeOf(imageFeatures);
        if (featureType != TensorType.F32 && featureType != TensorType.BF16) {
            throw new IllegalArgumentException("image features must be float32 or bfloat16, got " + featureType);
        }
        if (!imageFeatures.getDevice().equals(params.manager().getDevice())) {
            throw new IllegalArgumentException("image features are on " + imageFeatures.getDevice()
                    + ", the text encoder on " + params.manager().getDevice());
        }
        if (positions.length != 3 || Arrays.stream(positions).anyMatch(a -> a.length != length)) {
            throw new IllegalArgumentException("positions must be [3][" + length + "]");
        }
        final int first = start;
        final int n = count;
        return Scopes.apply(ids, in -> {
            NDManager m = in.getManager();
            NDArray index = m.create(flatIds, new Shape(1, length));
            NDArray embedded = Embedding.embedding(index, params.get(EMBEDDING), SparseFormat.DENSE).singletonOrThrow();
            imageFeatures.tempAttach(m); // what is made from the features is freed with the scope
            NDArray image = Precision.cast(imageFeatures, dtype);
            NDList parts = new NDList();
            if (first > 0) {
                parts.add(embedded.get(new NDIndex(":, :" + first)));
            }
            parts.add(image.expandDims(0));
            if (first + n < length) {
                parts.add(embedded.get(new NDIndex(":, " + (first + n) + ":")));
            }
            NDArray x = NDArrays.concat(parts, 1);
            NDArray[] rope = MultimodalRope.tables(positions, config.mropeSection(), config.ropeTheta(),
                    config.headDim(), m);
            return decoder(x, rope, null);
        });
    }

    /** The decoder layers and the final norm on the input embeddings x [B, T, hidden]. */
    private NDArray decoder(NDArray x, NDArray[] rope, NDArray additive) {
        for (int i = 0; i < layers.length; i++) {
            final Parameters p = layers[i];
            x = Scopes.step(x, h -> layer(p, h, rope[0], rope[1], additive));
        }
        return kernels.rmsNorm(x, params.get(FINAL_NORM), config.rmsNormEps());
    }

    /**
     * {cos, sin} [B, 1, T, D] for padded rows: transformers' {@code get_rope_index} for text gives
     * the tokens of a row positions {@code cumsum(mask) − 1} and padding position 1.
     */
    private NDArray[] ropeOfRows(long[] mask, int batch, int length, NDManager m) {
        NDList cos = new NDList();
        NDList sin = new NDList();
        for (int b = 0; b < batch; b++) {
            long[][] positions = new long[3][length];
            long next = 0;
            for (int j = 0; j < length; j++) {
                long p = mask[b * length + j] != 0 ? next++ : 1;
                for (int a = 0; a < 3; a++) {
                    positions[a][j] = p;
                }
            }
            NDArray[] t = MultimodalRope.tables(positions, config.mropeSection(), config.ropeTheta(), config.headDim(), m);
            cos.add(t[0].expandDims(0));
            sin.add(t[1].expandDims(0));
        }
        return new NDArray[] {NDArrays.stack(cos), NDArrays.stack(sin)};
    }

    /** One decoder layer on x [B, T, hidden]; {@code mask} is the additive [B, 1, T, T] mask or null (causal). */
    NDArray layer(Parameters p, NDArray x, NDArray cos, NDArray sin, NDArray mask) {
        double eps = config.rmsNormEps();
        NDArray h = kernels.rmsNorm(x, p.get("input_layernorm.weight"), eps);
        x = x.add(attention(p.scope("self_attn."), h, cos, sin, mask));
        h = kernels.rmsNorm(x, p.get("post_attention_layernorm.weight"), eps);
        NDArray gate = kernels.silu(Layers.linear(h, p, "mlp.gate_proj"));
        NDArray hidden = gate.mul(Layers.linear(h, p, "mlp.up_proj"));
        return x.add(Layers.linear(hidden, p, "mlp.down_proj"));
    }

    /** GQA self-attention with q/k/v biases, rotate-half RoPE on q and k, and o_proj without bias. */
    NDArray attention(Parameters p, NDArray h, NDArray cos, NDArray sin, NDArray mask) {
        long b = h.getShape().get(0);
        long t = h.getShape().get(1);
        int d = config.headDim();
        NDArray q = kernels.ropeRotateHalf(heads(Layers.linear(h, p, "q_proj"), b, t, config.numHeads()), cos, sin);
        NDArray k = kernels.ropeRotateHalf(heads(Layers.linear(h, p, "k_proj"), b, t, config.numKeyValueHeads()), cos, sin);
        NDArray v = heads(Layers.linear(h, p, "v_proj"), b, t, config.numKeyValueHeads());
        double scale = 1 / Math.sqrt(d);
        NDArray o = mask == null ? kernels.sdpaGqaCausal(q, k, v, scale) : kernels.sdpaGqa(q, k, v, mask, scale);
        return Layers.linear(o.transpose(0, 2, 1, 3).reshape(b, t, config.hiddenSize()), p, "o_proj");
    }

    private static NDArray heads(NDArray x, long b, long t, int heads) {
        return x.reshape(b, t, heads, x.getShape().get(2) / heads).transpose(0, 2, 1, 3);
    }

    /**
     * Additive mask [B, 1, T, T] (float32): 0 where key j ≤ query i and j is a token, a large
     * negative number elsewhere. Finite, so that a padding query with no visible key (left padding)
     * gets some finite average instead of NaN, which would poison the tokens through 0·NaN.
     */
    static NDArray paddingMask(long[] mask, int batch, int length, NDManager manager) {
        float[] m = new float[batch * length * length];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < length; i++) {
                for (int j = 0; j < length; j++) {
                    boolean visible = j <= i && mask[b * length + j] != 0;
                    m[(b * length + i) * length + j] = visible ? 0f : MASKED;
                }
            }
        }
        return manager.create(m, new Shape(batch, 1, length, length));
    }

    private long[] checkIds(NDArray ids) {
        long[] shape = ids.getShape().getShape();
        if (shape.length != 2 || shape[0] < 1 || shape[1] < 1) {
            throw new IllegalArgumentException("token ids must have shape [batch, length], got " + Arrays.toString(shape));
        }
        TensorType t = Precision.typeOf(ids);
        if (t != TensorType.I64 && t != TensorType.I32) {
            throw new IllegalArgumentException("token ids must be int64 or int32, got " + t);
        }
        long[] flat = t == TensorType.I64 ? ids.toLongArray() : Arrays.stream(ids.toIntArray()).asLongStream().toArray();
        for (long id : flat) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
        return flat;
    }

    /** The mask as 0/1 values, at least one 1 per row. */
    private static long[] checkMask(NDArray mask, int batch, int length) {
        if (!mask.getShape().equals(new Shape(batch, length))) {
            throw new IllegalArgumentException("attention mask must have shape [" + batch + ", " + length + "], got "
                    + mask.getShape());
        }
        TensorType t = Precision.typeOf(mask);
        if (t != TensorType.I64 && t != TensorType.I32) {
            throw new IllegalArgumentException("attention mask must be int64 or int32, got " + t);
        }
        long[] flat = t == TensorType.I64 ? mask.toLongArray() : Arrays.stream(mask.toIntArray()).asLongStream().toArray();
        for (int b = 0; b < batch; b++) {
            boolean any = false;
            for (int j = 0; j < length; j++) {
                long v = flat[b * length + j];
                if (v != 0 && v != 1) {
                    throw new IllegalArgumentException("attention mask values must be 0 or 1, got " + v);
                }
                any |= v == 1;
            }
            if (!any) {
                throw new IllegalArgumentException("attention mask row " + b + " has no token");
            }
        }
        return flat;
    }

    /** The loaded parameters (legacy names), for tests of single layers. */
    Parameters parameters() {
        return params;
    }

    /** False once {@link #close()} has freed the weights. */
    boolean isOpen() {
        return params.manager().isOpen();
    }

    @Override
    public void close() {
        params.close();
    }
}
