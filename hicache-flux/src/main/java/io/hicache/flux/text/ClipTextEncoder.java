package io.hicache.flux.text;

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
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.Checkpoints;
import io.hicache.core.weights.RenamedWeightSource;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import io.hicache.flux.ModelFiles;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The CLIP text tower ({@code CLIPTextModel}) whose pooled output conditions FLUX's modulation:
 * token + position embeddings, pre-LN causal self-attention layers, a final LayerNorm, and the pooled
 * vector taken at the end-of-text token. No projection is applied (FLUX uses the pooler output).
 */
public final class ClipTextEncoder implements AutoCloseable {
    static final String PREFIX = "text_model.";
    /** A buffer some saves carry; positions are always 0..L−1, so it is ignored. */
    static final String POSITION_IDS = "embeddings.position_ids";

    /** Final-LN hidden states [B, L, D] and the pooled vectors [B, D]. */
    public record Output(NDArray hiddenStates, NDArray pooled) implements AutoCloseable {
        @Override
        public void close() {
            hiddenStates.close();
            pooled.close();
        }
    }

    private final ClipTextConfig config;
    private final TensorType dtype;
    private final Parameters params;
    private final Parameters[] layers;
    private final Kernels kernels;

    private ClipTextEncoder(ClipTextConfig config, TensorType dtype, Parameters params) {
        this.config = config;
        this.dtype = dtype;
        this.params = params;
        this.layers = new Parameters[config.numLayers];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = params.scope("encoder.layers." + i + ".");
        }
        this.kernels = Kernels.on(params.manager().getDevice());
    }

    /** Loads {@code text_encoder/}: config.json plus model.safetensors. */
    public static ClipTextEncoder load(Path dir, TensorType dtype, NDManager manager) throws IOException {
        ClipTextConfig config = ClipTextConfig.read(dir);
        try (WeightStore store = ModelFiles.openWeights(dir)) {
            return load(store.scope(PREFIX), config, dtype, manager);
        }
    }

    /** Loads from a source whose names lack the {@code text_model.} prefix. */
    public static ClipTextEncoder load(WeightSource source, ClipTextConfig config, TensorType dtype,
            NDManager manager) throws IOException {
        ModelFiles.requireComputeType(dtype);
        WeightSource weights = withoutPositionIds(source);
        check(weights, config);
        return new ClipTextEncoder(config, dtype, Parameters.load(weights, spec(config), dtype, manager));
    }

    private static WeightSource withoutPositionIds(WeightSource source) {
        RenamedWeightSource.Builder b = RenamedWeightSource.over(source);
        for (String n : source.names()) {
            if (!n.equals(POSITION_IDS)) {
                b.map(n, n);
            }
        }
        return b.build();
    }

    private static void check(WeightSource weights, ClipTextConfig config) throws IOException {
        Checkpoints.requireBlocks(weights, "encoder.layers.", config.numLayers,
                "num_hidden_layers = " + config.numLayers);
        weights.verify(spec(config).shapes());
    }

    /** Checks {@code text_encoder/} (config and checkpoint headers) without loading any tensor. */
    public static ClipTextConfig check(Path dir) throws IOException {
        ClipTextConfig config = ClipTextConfig.read(dir);
        try (WeightStore store = ModelFiles.openWeights(dir)) {
            check(withoutPositionIds(store.scope(PREFIX)), config);
        }
        return config;
    }

    /** Every parameter (names without the {@code text_model.} prefix), with its shape. */
    public static ParameterSpec spec(ClipTextConfig c) {
        int d = c.hiddenSize;
        ParameterSpec s = new ParameterSpec()
                .add("embeddings.token_embedding.weight", c.vocabSize, d)
                .add("embeddings.position_embedding.weight", c.maxPositions, d);
        for (int i = 0; i < c.numLayers; i++) {
            String l = "encoder.layers." + i + ".";
            s.linear(l + "self_attn.q_proj", d, d, true)
                    .linear(l + "self_attn.k_proj", d, d, true)
                    .linear(l + "self_attn.v_proj", d, d, true)
                    .linear(l + "self_attn.out_proj", d, d, true)
                    .norm(l + "layer_norm1", d, true)
                    .linear(l + "mlp.fc1", c.intermediateSize, d, true)
                    .linear(l + "mlp.fc2", d, c.intermediateSize, true)
                    .norm(l + "layer_norm2", d, true);
        }
        return s.norm("final_layer_norm", d, true);
    }

    public ClipTextConfig config() {
        return config;
    }

    public TensorType dtype() {
        return dtype;
    }

    public long parameterBytes() {
        return params.bytes();
    }

    /**
     * Token ids [B, L] (int64, L ≤ max_position_embeddings) → final-LN states and pooled vectors in
     * the compute dtype, attached to the manager of {@code ids}.
     */
    public Output encode(NDArray ids) {
        long[] flat = TextInputs.checkIds(ids, config.vocabSize, config.maxPositions);
        int batch = (int) ids.getShape().get(0);
        int length = (int) ids.getShape().get(1);
        NDManager home = ids.getManager();
        try (NDManager scope = home.newSubManager()) {
            ids.tempAttach(scope);
            long[] positions = new long[length];
            for (int i = 0; i < length; i++) {
                positions[i] = i;
            }
            NDArray x = Embedding.embedding(ids, params.get("embeddings.token_embedding.weight"), SparseFormat.DENSE)
                    .singletonOrThrow()
                    .add(Embedding.embedding(scope.create(positions, new Shape(length)),
                            params.get("embeddings.position_embedding.weight"), SparseFormat.DENSE)
                            .singletonOrThrow());
            for (int i = 0; i < layers.length; i++) {
                final int layer = i;
                x = Scopes.step(x, h -> layer(layer, h));
            }
            NDArray hidden = kernels.layerNorm(x, params.get("final_layer_norm.weight"),
                    params.get("final_layer_norm.bias"), config.layerNormEps);
            NDList rows = new NDList(batch);
            for (int b = 0; b < batch; b++) {
                rows.add(hidden.get(new NDIndex("{}, {}", b, poolPosition(flat, b * length, length))));
            }
            NDArray pooled = NDArrays.stack(rows);
            hidden.attach(home);
            pooled.attach(home);
            return new Output(hidden, pooled);
        }
    }

    /**
     * Where the pooled vector is read in row {@code ids[offset, offset + length)}: transformers takes
     * the argmax of the ids when the config keeps the legacy eos id 2 (the end-of-text token has the
     * largest id, and argmax returns its first occurrence), else the first occurrence of the eos id.
     */
    int poolPosition(long[] ids, int offset, int length) {
        int best = 0;
        for (int i = 0; i < length; i++) {
            long id = ids[offset + i];
            if (config.eosTokenId == ClipTextConfig.LEGACY_EOS_TOKEN_ID) {
                if (id > ids[offset + best]) {
                    best = i;
                }
            } else if (id == config.eosTokenId) {
                return i;
            }
        }
        return best;
    }

    /** One pre-LN layer: causal self-attention, then the MLP, each with a residual. */
    NDArray layer(int index, NDArray x) {
        Parameters p = layers[index];
        double eps = config.layerNormEps;
        NDArray h = kernels.layerNorm(x, p.get("layer_norm1.weight"), p.get("layer_norm1.bias"), eps);
        x = x.add(attention(p.scope("self_attn."), h));
        h = kernels.layerNorm(x, p.get("layer_norm2.weight"), p.get("layer_norm2.bias"), eps);
        NDArray a = Layers.linear(h, p, "mlp.fc1");
        a = config.activation == ClipTextConfig.Activation.QUICK_GELU ? kernels.quickGelu(a) : kernels.geluErf(a);
        return x.add(Layers.linear(a, p, "mlp.fc2"));
    }

    private NDArray attention(Parameters p, NDArray h) {
        long b = h.getShape().get(0);
        long l = h.getShape().get(1);
        NDArray q = heads(Layers.linear(h, p, "q_proj"), b, l);
        NDArray k = heads(Layers.linear(h, p, "k_proj"), b, l);
        NDArray v = heads(Layers.linear(h, p, "v_proj"), b, l);
        NDArray o = kernels.sdpaCausal(q, k, v, 1.0 / Math.sqrt(config.headDim()));
        return Layers.linear(o.transpose(0, 2, 1, 3).reshape(b, l, config.hiddenSize), p, "out_proj");
    }

    private NDArray heads(NDArray x, long b, long l) {
        return x.reshape(b, l, config.numHeads, config.headDim()).transpose(0, 2, 1, 3);
    }

    @Override
    public void close() {
        params.close();
    }
}
