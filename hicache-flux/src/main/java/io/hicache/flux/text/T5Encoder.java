package io.hicache.flux.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import io.hicache.core.nn.Layers;
import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.nn.Parameters;
import io.hicache.core.nn.Scopes;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.Checkpoints;
import io.hicache.core.weights.RenamedWeightSource;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import io.hicache.flux.ModelFiles;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The T5 v1.1 encoder ({@code T5EncoderModel}) that turns FLUX's second prompt into the sequence the
 * transformer attends to. Pre-norm layers with RMS-style T5LayerNorm, unscaled attention plus a
 * relative position bias that block 0 owns and every layer shares, and a gated tanh-GELU
 * feed-forward. FLUX runs it on padded sequences without an attention mask, so padding tokens attend
 * and are attended to: this class has no mask on purpose.
 */
public final class T5Encoder implements AutoCloseable {
    static final String EMBEDDING = "shared.weight";
    static final String EMBEDDING_ALIAS = "encoder.embed_tokens.weight";
    static final String RELATIVE_BIAS = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";

    private final T5Config config;
    private final TensorType dtype;
    private final Parameters params;
    private final Parameters[] blocks;
    private final Kernels kernels;

    private T5Encoder(T5Config config, TensorType dtype, Parameters params) {
        this.config = config;
        this.dtype = dtype;
        this.params = params;
        this.blocks = new Parameters[config.numLayers];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = params.scope("encoder.block." + i + ".");
        }
        this.kernels = Kernels.on(params.manager().getDevice());
    }

    /** Loads {@code text_encoder_2/}: config.json plus model.safetensors or sharded checkpoint. */
    public static T5Encoder load(Path dir, TensorType dtype, NDManager manager) throws IOException {
        T5Config config = T5Config.read(dir);
        try (WeightStore store = ModelFiles.openWeights(dir)) {
            return load(store, config, dtype, manager);
        }
    }

    /** Loads the parameters of {@code config} from transformers' T5EncoderModel names. */
    public static T5Encoder load(WeightSource source, T5Config config, TensorType dtype, NDManager manager)
            throws IOException {
        ModelFiles.requireComputeType(dtype);
        WeightSource weights = withSharedEmbedding(source);
        check(weights, config);
        return new T5Encoder(config, dtype, Parameters.load(weights, spec(config), dtype, manager));
    }

    /** Checks a checkpoint (names as {@link #withSharedEmbedding} presents them) against {@code config}, from headers. */
    static void check(WeightSource weights, T5Config config) throws IOException {
        Checkpoints.requireBlocks(weights, "encoder.block.", config.numLayers, "num_layers = " + config.numLayers);
        weights.verify(spec(config).shapes());
    }

    /** Checks {@code text_encoder_2/} (config and checkpoint headers) without loading any tensor. */
    public static T5Config check(Path dir) throws IOException {
        T5Config config = T5Config.read(dir);
        try (WeightStore store = ModelFiles.openWeights(dir)) {
            check(withSharedEmbedding(store), config);
        }
        return config;
    }

    /**
     * The checkpoint with its token embedding under {@code shared.weight}. Saves differ: the
     * embedding is tied, and a checkpoint may store it as {@code shared.weight},
     * {@code encoder.embed_tokens.weight} or both (then the copy is ignored).
     */
    static WeightSource withSharedEmbedding(WeightSource source) {
        RenamedWeightSource.Builder b = RenamedWeightSource.over(source);
        for (String n : source.names()) {
            if (!n.equals(EMBEDDING_ALIAS)) {
                b.map(n, n);
            } else if (!source.contains(EMBEDDING)) {
                b.map(EMBEDDING, n);
            }
        }
        return b.build();
    }

    /** Every parameter of the encoder, with its shape. */
    public static ParameterSpec spec(T5Config c) {
        ParameterSpec s = new ParameterSpec().add(EMBEDDING, c.vocabSize, c.dModel);
        for (int i = 0; i < c.numLayers; i++) {
            String attn = "encoder.block." + i + ".layer.0.SelfAttention.";
            s.linear(attn + "q", c.innerDim(), c.dModel, false)
                    .linear(attn + "k", c.innerDim(), c.dModel, false)
                    .linear(attn + "v", c.innerDim(), c.dModel, false)
                    .linear(attn + "o", c.dModel, c.innerDim(), false);
            if (i == 0) {
                s.add(RELATIVE_BIAS, c.relativeAttentionNumBuckets, c.numHeads);
            }
            s.norm("encoder.block." + i + ".layer.0.layer_norm", c.dModel, false);
            String ff = "encoder.block." + i + ".layer.1.DenseReluDense.";
            s.linear(ff + "wi_0", c.dFf, c.dModel, false)
                    .linear(ff + "wi_1", c.dFf, c.dModel, false)
                    .linear(ff + "wo", c.dModel, c.dFf, false)
                    .norm("encoder.block." + i + ".layer.1.layer_norm", c.dModel, false);
        }
        return s.norm("encoder.final_layer_norm", c.dModel, false);
    }

    public T5Config config() {
        return config;
    }

    public TensorType dtype() {
        return dtype;
    }

    /** Bytes held by the weights. */
    public long parameterBytes() {
        return params.bytes();
    }

    /**
     * Token ids [B, L] (int64) → last hidden state [B, L, d_model] in the compute dtype, attached to
     * the manager of {@code ids}. Intermediates are freed before returning.
     */
    public NDArray encode(NDArray ids) {
        TextInputs.checkIds(ids, config.vocabSize, Integer.MAX_VALUE);
        return Scopes.apply(ids, in -> {
            int length = (int) in.getShape().get(1);
            NDArray x = Embedding.embedding(in, params.get(EMBEDDING), SparseFormat.DENSE).singletonOrThrow();
            NDArray bias = positionBias(in.getManager(), length);
            for (int i = 0; i < blocks.length; i++) {
                final int layer = i;
                x = Scopes.step(x, h -> block(layer, h, bias));
            }
            return kernels.rmsNorm(x, params.get("encoder.final_layer_norm.weight"), config.layerNormEpsilon);
        });
    }

    /** One encoder layer: x [B, L, d_model], bias [1, H, L, L]. */
    NDArray block(int layer, NDArray x, NDArray bias) {
        Parameters p = blocks[layer];
        double eps = config.layerNormEpsilon;
        NDArray h = kernels.rmsNorm(x, p.get("layer.0.layer_norm.weight"), eps);
        x = x.add(attention(p.scope("layer.0.SelfAttention."), h, bias));
        h = kernels.rmsNorm(x, p.get("layer.1.layer_norm.weight"), eps);
        Parameters ff = p.scope("layer.1.DenseReluDense.");
        NDArray gate = kernels.geluTanh(Layers.linear(h, ff.get("wi_0.weight"), null));
        NDArray hidden = gate.mul(Layers.linear(h, ff.get("wi_1.weight"), null));
        return x.add(Layers.linear(hidden, ff.get("wo.weight"), null));
    }

    /** Multi-head attention with the additive position bias and no 1/√d scaling (T5 folds it into q). */
    private NDArray attention(Parameters p, NDArray h, NDArray bias) {
        long b = h.getShape().get(0);
        long l = h.getShape().get(1);
        NDArray q = heads(Layers.linear(h, p.get("q.weight"), null), b, l);
        NDArray k = heads(Layers.linear(h, p.get("k.weight"), null), b, l);
        NDArray v = heads(Layers.linear(h, p.get("v.weight"), null), b, l);
        NDArray o = kernels.sdpa(q, k, v, bias, 1.0);
        return Layers.linear(o.transpose(0, 2, 1, 3).reshape(b, l, config.innerDim()), p.get("o.weight"), null);
    }

    private NDArray heads(NDArray x, long b, long l) {
        return x.reshape(b, l, config.numHeads, config.dKv).transpose(0, 2, 1, 3);
    }

    /**
     * bias[0, h, i, j] = relative_attention_bias[bucket(j − i), h] for a sequence of {@code length},
     * in the compute dtype, on {@code manager}.
     */
    NDArray positionBias(NDManager manager, int length) {
        long[] buckets = new long[length * length];
        for (int i = 0; i < length; i++) {
            for (int j = 0; j < length; j++) {
                buckets[i * length + j] = relativePositionBucket(j - i,
                        config.relativeAttentionNumBuckets, config.relativeAttentionMaxDistance);
            }
        }
        NDArray index = manager.create(buckets, new Shape(length, length));
        NDArray table = Embedding.embedding(index, params.get(RELATIVE_BIAS), SparseFormat.DENSE).singletonOrThrow();
        return table.transpose(2, 0, 1).expandDims(0);
    }

    /**
     * transformers' bidirectional {@code _relative_position_bucket}: half of the buckets for keys
     * after the query, half for keys at or before it; within a half, exact buckets for distances
     * below a quarter of the buckets, then logarithmically wider ones up to {@code maxDistance}, and
     * everything farther in the last bucket. The logarithm is taken in float32 as the reference
     * does, so boundary distances land in the same bucket.
     */
    static int relativePositionBucket(int relativePosition, int numBuckets, int maxDistance) {
        int half = numBuckets / 2;
        int bucket = relativePosition > 0 ? half : 0;
        int distance = Math.abs(relativePosition);
        int maxExact = half / 2;
        if (distance < maxExact) {
            return bucket + distance;
        }
        float logRatio = (float) Math.log((float) distance / maxExact)
                / (float) Math.log((double) maxDistance / maxExact);
        int large = maxExact + (int) (logRatio * (half - maxExact));
        return bucket + Math.min(large, half - 1);
    }

    @Override
    public void close() {
        params.close();
    }
}
