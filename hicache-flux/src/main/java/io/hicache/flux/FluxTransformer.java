package io.hicache.flux;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheSession;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.metrics.FlopCounter.Kind;
import io.hicache.core.nn.Layers;
import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.nn.Parameters;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.nn.SinusoidalTimesteps;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The FLUX.1 transformer ({@code FluxTransformer2DModel}): embeddings, 19 double-stream and 38
 * single-stream blocks (FLUX.1-dev), final adaptive LayerNorm and projection — diffusers' forward,
 * equation by equation, with the HiCache sites at upstream granularity.
 *
 * <p><b>Caching.</b> A double block caches its four pre-gate outputs {@code img_attn},
 * {@code img_mlp}, {@code txt_attn}, {@code txt_mlp} (layer = block index); a single block caches
 * {@code total} = proj_out(concat(attention, GELU(proj_mlp))) (layer = num_layers + block index). On a
 * forecast step no norm, projection, attention or MLP of a block runs; the embeddings, every block's
 * modulation linear, the gated residual adds, the text/image concat and split and the final layer
 * always run. Without a session everything is computed.
 *
 * <p><b>Precision.</b> Weights and activations are in the compute dtype (float32 or bfloat16);
 * timestep features and RoPE are computed in fp32 (from float64 angles) and cast back; attention
 * runs in fused SDPA; LayerNorm/RMSNorm reduce in fp32.
 *
 * <p><b>Memory.</b> Each forward runs in its own sub-manager and each block in a sub-manager of
 * that; only the residual streams survive a block, and only the output survives the forward.
 * Weights are never modified.
 *
 * <p><b>FLOPs.</b> Every matrix product that runs is counted into the given {@link FlopCounter} from
 * the actual tensor shapes; {@link #flopsPerForward} gives the analytic count of a full forward.
 */
public final class FluxTransformer implements AutoCloseable {
    static final String IMG_ATTN = "img_attn";
    static final String IMG_MLP = "img_mlp";
    static final String TXT_ATTN = "txt_attn";
    static final String TXT_MLP = "txt_mlp";
    static final String TOTAL = "total";

    private final FluxConfig config;
    private final TensorType dtype;
    private final Parameters params;
    private final Kernels kernels;

    private FluxTransformer(FluxConfig config, TensorType dtype, Parameters params) {
        this.config = config;
        this.dtype = dtype;
        this.params = params;
        this.kernels = Kernels.on(params.manager().getDevice());
    }

    // ------------------------------------------------------------------------------------ loading

    /**
     * Loads a transformer in {@code dtype} (float32 or bfloat16) onto {@code manager}'s device from
     * a model directory (diffusers layout: {@code transformer/config.json} and one or more
     * {@code diffusion_pytorch_model*.safetensors}, sharded with an index or not), the
     * {@code transformer} directory itself, or a BFL single-file checkpoint
     * ({@code flux1-dev.safetensors}), whose config is read from the {@code transformer/config.json}
     * next to it (the layout of the FLUX.1 repositories).
     *
     * @throws io.hicache.core.weights.CheckpointMismatchException listing every missing, unexpected
     *     and wrongly shaped tensor
     */
    public static FluxTransformer load(Path path, TensorType dtype, NDManager manager) throws IOException {
        if (Files.isRegularFile(path)) {
            Path config = path.toAbsolutePath().getParent().resolve("transformer").resolve("config.json");
            if (!Files.isRegularFile(config)) {
                throw new NoSuchFileException(config.toString(), null,
                        "a BFL single-file checkpoint needs the transformer/config.json next to it");
            }
            FluxConfig c = FluxConfig.read(config);
            try (BflCheckpoint weights = BflCheckpoint.open(path, c)) {
                return load(weights, c, dtype, manager);
            }
        }
        Path dir = Files.isRegularFile(path.resolve("transformer").resolve("config.json")) ? path.resolve("transformer") : path;
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new NoSuchFileException(config.toString(), null,
                    "not a FLUX model directory (expected transformer/config.json)");
        }
        FluxConfig c = FluxConfig.read(config);
        try (WeightStore weights = WeightStore.open(dir)) {
            return load(weights, c, dtype, manager);
        }
    }

    /** Loads from any source presenting diffusers names (verified first; tensors are copied). */
    public static FluxTransformer load(WeightSource weights, FluxConfig config, TensorType dtype, NDManager manager)
            throws IOException {
        if (dtype != TensorType.F32 && dtype != TensorType.BF16) {
            throw new IllegalArgumentException("FLUX computes in float32 or bfloat16, not " + dtype.displayName());
        }
        check(weights, config);
        return new FluxTransformer(config, dtype, Parameters.load(weights, parameterSpec(config), dtype, manager));
    }

    /**
     * Checks {@code weights} against {@code config} from names and shapes alone: the block counts
     * first, then every tensor.
     *
     * @throws io.hicache.core.pipeline.InvalidModelException when they do not match
     */
    public static void check(WeightSource weights, FluxConfig config) throws IOException {
        ModelFiles.requireBlocks(weights, "transformer_blocks.", config.numLayers(),
                "num_layers = " + config.numLayers());
        ModelFiles.requireBlocks(weights, "single_transformer_blocks.", config.numSingleLayers(),
                "num_single_layers = " + config.numSingleLayers());
        weights.verify(parameterSpec(config).shapes());
    }

    /** Every parameter name and shape of {@code config}, in diffusers naming. */
    public static ParameterSpec parameterSpec(FluxConfig c) {
        long d = c.hiddenSize();
        long mlp = c.mlpHiddenSize();
        long dh = c.attentionHeadDim();
        ParameterSpec s = new ParameterSpec()
                .linear("x_embedder", d, c.inChannels(), true)
                .linear("context_embedder", d, c.jointAttentionDim(), true)
                .linear("time_text_embed.timestep_embedder.linear_1", d, FluxConfig.TIMESTEP_CHANNELS, true)
                .linear("time_text_embed.timestep_embedder.linear_2", d, d, true);
        if (c.guidanceEmbeds()) {
            s.linear("time_text_embed.guidance_embedder.linear_1", d, FluxConfig.TIMESTEP_CHANNELS, true)
                    .linear("time_text_embed.guidance_embedder.linear_2", d, d, true);
        }
        s.linear("time_text_embed.text_embedder.linear_1", d, c.pooledProjectionDim(), true)
                .linear("time_text_embed.text_embedder.linear_2", d, d, true);
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "transformer_blocks." + i + ".";
            s.linear(p + "norm1.linear", 6 * d, d, true).linear(p + "norm1_context.linear", 6 * d, d, true);
            for (String proj : new String[] {"to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj",
                "to_out.0", "to_add_out"}) {
                s.linear(p + "attn." + proj, d, d, true);
            }
            for (String norm : new String[] {"norm_q", "norm_k", "norm_added_q", "norm_added_k"}) {
                s.norm(p + "attn." + norm, dh, false);
            }
            s.linear(p + "ff.net.0.proj", mlp, d, true).linear(p + "ff.net.2", d, mlp, true)
                    .linear(p + "ff_context.net.0.proj", mlp, d, true).linear(p + "ff_context.net.2", d, mlp, true);
        }
        for (int j = 0; j < c.numSingleLayers(); j++) {
            String p = "single_transformer_blocks." + j + ".";
            s.linear(p + "norm.linear", 3 * d, d, true);
            for (String proj : new String[] {"to_q", "to_k", "to_v"}) {
                s.linear(p + "attn." + proj, d, d, true);
            }
            s.norm(p + "attn.norm_q", dh, false).norm(p + "attn.norm_k", dh, false)
                    .linear(p + "proj_mlp", mlp, d, true)
                    .linear(p + "proj_out", d, d + mlp, true);
        }
        return s.linear("norm_out.linear", 2 * d, d, true).linear("proj_out", c.outChannels(), d, true);
    }

    public FluxConfig config() {
        return config;
    }

    /** The compute dtype of weights and activations. */
    public TensorType dtype() {
        return dtype;
    }

    /** Bytes held by the weights. */
    public long parameterBytes() {
        return params.bytes();
    }

    // ------------------------------------------------------------------------------------ forward

    /**
     * RoPE tables of the joint sequence (text first): {@code txtIds} [L, 3], {@code imgIds} [N, 3].
     * They depend only on the ids, so build them once per generation.
     */
    public RotaryEmbedding rotaryEmbedding(NDArray txtIds, NDArray imgIds, NDManager manager) {
        try (NDArray ids = txtIds.concat(imgIds, 0)) {
            return RotaryEmbedding.of(ids, config.axesDimsRope(), FluxConfig.ROPE_THETA, manager);
        }
    }

    /**
     * The velocity for packed latents {@code hidden} [B, N, in_channels] given T5 embeddings
     * {@code encoderHidden} [B, L, joint_attention_dim], pooled CLIP embeddings {@code pooled}
     * [B, pooled_projection_dim], per-sample timesteps σ (the model multiplies by 1000) and, for
     * guidance-distilled models, guidance scales (null otherwise). Inputs may be in any float dtype
     * (they are cast to the compute dtype). Returns [B, N, out_channels] in the compute dtype, in
     * {@code hidden}'s manager.
     *
     * @param session the cache of this generation, positioned at the current step; null computes everything
     * @param flops receives the FLOPs of every matrix product that runs
     */
    public NDArray forward(NDArray hidden, NDArray encoderHidden, NDArray pooled, float[] timestep, float[] guidance,
            RotaryEmbedding rope, CacheSession session, FlopCounter flops) {
        checkInputs(hidden, encoderHidden, pooled, timestep, guidance, rope);
        long textTokens = encoderHidden.getShape().get(1);
        NDManager caller = hidden.getManager();
        try (NDManager fwd = caller.newSubManager()) {
            fwd.tempAttachAll(hidden, encoderHidden, pooled);
            NDArray temb = conditioning(timestep, guidance, Precision.cast(pooled, dtype), flops, fwd);
            // every modulation (AdaLayerNormZero, AdaLayerNormContinuous) starts with SiLU(temb)
            NDArray siluTemb = kernels.silu(temb);
            NDArray img = linear(params, Precision.cast(hidden, dtype), "x_embedder", Kind.EMBEDDINGS, flops);
            NDArray txt = linear(params, Precision.cast(encoderHidden, dtype), "context_embedder", Kind.EMBEDDINGS, flops);
            for (int i = 0; i < config.numLayers(); i++) {
                NDArray[] next;
                try (NDManager block = fwd.newSubManager()) {
                    block.tempAttachAll(img, txt, siluTemb);
                    next = doubleBlock(i, img, txt, siluTemb, rope, session, flops, block);
                    fwd.attachAll(next);
                }
                img.close();
                txt.close();
                img = next[0];
                txt = next[1];
            }
            NDArray z = txt.concat(img, 1);
            img.close();
            txt.close();
            for (int j = 0; j < config.numSingleLayers(); j++) {
                NDArray next;
                try (NDManager block = fwd.newSubManager()) {
                    block.tempAttachAll(z, siluTemb);
                    next = singleBlock(j, z, siluTemb, rope, session, flops, block);
                    next.attach(fwd);
                }
                z.close();
                z = next;
            }
            NDArray out = finalLayer(z.get(new NDIndex(":, " + textTokens + ":")), siluTemb, flops);
            out.attach(caller);
            return out;
        }
    }

    private void checkInputs(NDArray hidden, NDArray encoderHidden, NDArray pooled, float[] timestep,
            float[] guidance, RotaryEmbedding rope) {
        Shape h = hidden.getShape();
        Shape e = encoderHidden.getShape();
        Shape p = pooled.getShape();
        if (h.dimension() != 3 || h.get(2) != config.inChannels()) {
            throw new IllegalArgumentException("packed latents must be [B, N, " + config.inChannels() + "], got " + h);
        }
        long b = h.get(0);
        if (e.dimension() != 3 || e.get(0) != b || e.get(2) != config.jointAttentionDim()) {
            throw new IllegalArgumentException("prompt embeddings must be [" + b + ", L, " + config.jointAttentionDim()
                    + "], got " + e);
        }
        if (p.dimension() != 2 || p.get(0) != b || p.get(1) != config.pooledProjectionDim()) {
            throw new IllegalArgumentException("pooled prompt embeddings must be [" + b + ", "
                    + config.pooledProjectionDim() + "], got " + p);
        }
        if (timestep.length != b) {
            throw new IllegalArgumentException(timestep.length + " timesteps for a batch of " + b);
        }
        if (config.guidanceEmbeds() && (guidance == null || guidance.length != b)) {
            throw new IllegalArgumentException("this model embeds guidance: one guidance value per sample is needed");
        }
        if (!config.guidanceEmbeds() && guidance != null) {
            throw new IllegalArgumentException("this model has no guidance embedding (guidance_embeds is false)");
        }
        if (rope.length() != h.get(1) + e.get(1)) {
            throw new IllegalArgumentException("RoPE tables cover " + rope.length() + " tokens, the joint sequence has "
                    + (h.get(1) + e.get(1)));
        }
    }

    /** temb = TE_t(φ(1000σ)) [+ TE_g(φ(1000g))] + PT(pooled), [B, d]. */
    private NDArray conditioning(float[] timestep, float[] guidance, NDArray pooled, FlopCounter flops, NDManager scope) {
        NDArray temb = timestepMlp(timestep, "time_text_embed.timestep_embedder", flops, scope);
        if (config.guidanceEmbeds()) {
            NDArray g = timestepMlp(guidance, "time_text_embed.guidance_embedder", flops, scope);
            temb = temb.add(g);
        }
        NDArray text = linear(params, kernels.silu(linear(params, pooled, "time_text_embed.text_embedder.linear_1",
                Kind.EMBEDDINGS, flops)), "time_text_embed.text_embedder.linear_2", Kind.EMBEDDINGS, flops);
        return temb.add(text);
    }

    private NDArray timestepMlp(float[] values, String prefix, FlopCounter flops, NDManager scope) {
        double[] scaled = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            scaled[i] = values[i] * 1000.0;
        }
        NDArray features = Precision.cast(SinusoidalTimesteps.embed(scaled, FluxConfig.TIMESTEP_CHANNELS, scope), dtype);
        NDArray hidden = kernels.silu(linear(params, features, prefix + ".linear_1", Kind.EMBEDDINGS, flops));
        return linear(params, hidden, prefix + ".linear_2", Kind.EMBEDDINGS, flops);
    }

    /**
     * Double-stream block {@code i}: returns {img, txt} after the block. Results live in the
     * managers of the inputs (the caller scopes them); forecasts are attached to {@code scope}.
     */
    NDArray[] doubleBlock(int i, NDArray img, NDArray txt, NDArray siluTemb, RotaryEmbedding rope,
            CacheSession session, FlopCounter flops, NDManager scope) {
        Parameters p = params.scope("transformer_blocks." + i + ".");
        // chunks: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp
        NDList m = modulation(p, siluTemb, "norm1.linear", 6, flops);
        NDList c = modulation(p, siluTemb, "norm1_context.linear", 6, flops);
        boolean compute = session == null || session.needsCompute();
        NDArray imgAttn = null;
        NDArray txtAttn = null;
        if (compute) {
            double eps = FluxConfig.NORM_EPS;
            NDArray x = kernels.modulate(img, m.get(0), m.get(1), eps);
            NDArray y = kernels.modulate(txt, c.get(0), c.get(1), eps);
            // joint attention over [text; image]
            NDArray q = heads(linear(p, y, "attn.add_q_proj", Kind.ATTENTION_PROJECTIONS, flops), p.get("attn.norm_added_q.weight"))
                    .concat(heads(linear(p, x, "attn.to_q", Kind.ATTENTION_PROJECTIONS, flops), p.get("attn.norm_q.weight")), 2);
            NDArray k = heads(linear(p, y, "attn.add_k_proj", Kind.ATTENTION_PROJECTIONS, flops), p.get("attn.norm_added_k.weight"))
                    .concat(heads(linear(p, x, "attn.to_k", Kind.ATTENTION_PROJECTIONS, flops), p.get("attn.norm_k.weight")), 2);
            NDArray v = heads(linear(p, y, "attn.add_v_proj", Kind.ATTENTION_PROJECTIONS, flops), null)
                    .concat(heads(linear(p, x, "attn.to_v", Kind.ATTENTION_PROJECTIONS, flops), null), 2);
            NDArray o = attention(rope.apply(q), rope.apply(k), v, flops);
            long textTokens = txt.getShape().get(1);
            txtAttn = linear(p, o.get(new NDIndex(":, :" + textTokens)), "attn.to_add_out", Kind.ATTENTION_PROJECTIONS, flops);
            imgAttn = linear(p, o.get(new NDIndex(":, " + textTokens + ":")), "attn.to_out.0", Kind.ATTENTION_PROJECTIONS, flops);
        }
        imgAttn = resolve(session, i, IMG_ATTN, imgAttn, scope);
        NDArray img1 = img.add(m.get(2).mul(imgAttn));
        NDArray imgMlp = compute ? feedForward(p, kernels.modulate(img1, m.get(3), m.get(4), FluxConfig.NORM_EPS), "ff", flops) : null;
        imgMlp = resolve(session, i, IMG_MLP, imgMlp, scope);
        NDArray img2 = img1.add(m.get(5).mul(imgMlp));

        txtAttn = resolve(session, i, TXT_ATTN, txtAttn, scope);
        NDArray txt1 = txt.add(c.get(2).mul(txtAttn));
        NDArray txtMlp = compute ? feedForward(p, kernels.modulate(txt1, c.get(3), c.get(4), FluxConfig.NORM_EPS), "ff_context", flops) : null;
        txtMlp = resolve(session, i, TXT_MLP, txtMlp, scope);
        NDArray txt2 = txt1.add(c.get(5).mul(txtMlp));
        return new NDArray[] {img2, txt2};
    }

    /** Single-stream block {@code j} on the joint sequence z = [text; image]; returns z after it. */
    NDArray singleBlock(int j, NDArray z, NDArray siluTemb, RotaryEmbedding rope, CacheSession session,
            FlopCounter flops, NDManager scope) {
        Parameters p = params.scope("single_transformer_blocks." + j + ".");
        // chunks: shift, scale, gate
        NDList m = modulation(p, siluTemb, "norm.linear", 3, flops);
        NDArray total = null;
        if (session == null || session.needsCompute()) {
            NDArray x = kernels.modulate(z, m.get(0), m.get(1), FluxConfig.NORM_EPS);
            NDArray mlp = kernels.geluTanh(linear(p, x, "proj_mlp", Kind.MLP, flops));
            NDArray q = heads(linear(p, x, "attn.to_q", Kind.ATTENTION_PROJECTIONS, flops), p.get("attn.norm_q.weight"));
            NDArray k = heads(linear(p, x, "attn.to_k", Kind.ATTENTION_PROJECTIONS, flops), p.get("attn.norm_k.weight"));
            NDArray v = heads(linear(p, x, "attn.to_v", Kind.ATTENTION_PROJECTIONS, flops), null);
            NDArray o = attention(rope.apply(q), rope.apply(k), v, flops);
            // proj_out's input columns are [attention | MLP]: count each part as what it is
            long tokens = z.getShape().size() / config.hiddenSize();
            flops.linear(Kind.ATTENTION_PROJECTIONS, tokens, config.hiddenSize(), config.hiddenSize());
            flops.linear(Kind.MLP, tokens, config.mlpHiddenSize(), config.hiddenSize());
            total = Layers.linear(o.concat(mlp, 2), p.get("proj_out.weight"), p.get("proj_out.bias"));
        }
        total = resolve(session, config.numLayers() + j, TOTAL, total, scope);
        return z.add(m.get(2).mul(total));
    }

    /** AdaLayerNormContinuous with diffusers' (scale, shift) order, then proj_out. */
    NDArray finalLayer(NDArray img, NDArray siluTemb, FlopCounter flops) {
        NDList e = modulation(params, siluTemb, "norm_out.linear", 2, flops);
        NDArray scale = e.get(0);
        NDArray shift = e.get(1);
        NDArray h = kernels.modulate(img, shift, scale, FluxConfig.NORM_EPS);
        return linear(params, h, "proj_out", Kind.EMBEDDINGS, flops);
    }

    /** Linear(SiLU(temb)) split into {@code n} chunks of [B, 1, d] (broadcast over tokens). */
    private NDList modulation(Parameters p, NDArray siluTemb, String name, int n, FlopCounter flops) {
        NDArray e = linear(p, siluTemb, name, Kind.EMBEDDINGS, flops);
        NDList chunks = new NDList(n);
        for (NDArray chunk : e.split(n, 1)) {
            chunks.add(chunk.expandDims(1));
        }
        return chunks;
    }

    private NDArray feedForward(Parameters p, NDArray x, String prefix, FlopCounter flops) {
        NDArray h = kernels.geluTanh(linear(p, x, prefix + ".net.0.proj", Kind.MLP, flops));
        return linear(p, h, prefix + ".net.2", Kind.MLP, flops);
    }

    /** [B, S, H·Dh] → [B, H, S, Dh], RMS-normalising each head vector when {@code normWeight} is given. */
    private NDArray heads(NDArray x, NDArray normWeight) {
        Shape s = x.getShape();
        NDArray h = x.reshape(s.get(0), s.get(1), config.numAttentionHeads(), config.attentionHeadDim());
        if (normWeight != null) {
            h = kernels.rmsNorm(h, normWeight, FluxConfig.NORM_EPS);
        }
        return h.transpose(0, 2, 1, 3);
    }

    /** softmax(q·kᵀ/√Dh)·v over [B, H, S, Dh], returned as [B, S, H·Dh]; 4·B·H·S_q·S_k·Dh FLOPs. */
    private NDArray attention(NDArray q, NDArray k, NDArray v, FlopCounter flops) {
        Shape s = q.getShape();
        long b = s.get(0);
        long heads = s.get(1);
        long len = s.get(2);
        long dh = s.get(3);
        flops.add(Kind.ATTENTION_SCORES, 4 * b * heads * len * k.getShape().get(2) * dh);
        NDArray o = kernels.sdpa(q, k, v, 1 / Math.sqrt(dh));
        return o.transpose(0, 2, 1, 3).reshape(b, len, heads * dh);
    }

    /** x·Wᵀ + b for the parameters {@code name}.weight/.bias, counting 2·tokens·in·out FLOPs. */
    private static NDArray linear(Parameters p, NDArray x, String name, Kind kind, FlopCounter flops) {
        NDArray w = p.get(name + ".weight");
        long out = w.getShape().get(0);
        long in = w.getShape().get(1);
        flops.linear(kind, x.getShape().size() / in, in, out);
        return Layers.linear(x, w, p.find(name + ".bias"));
    }

    private static NDArray resolve(CacheSession session, int layer, String module, NDArray computed, NDManager scope) {
        return session == null ? computed : session.resolve(new SiteKey(SiteKey.COND, layer, module), computed, scope);
    }

    // ------------------------------------------------------------------------------------ FLOPs

    /**
     * The analytic FLOPs of one full forward of one sample (model-architectures.md §8: matrix
     * products only, 2·M·N·K each), by kind. For FLUX.1-dev at 1024² (4096 image and 512 text
     * tokens) the total is 74.385 TFLOP.
     */
    public static FlopCounter flopsPerForward(FluxConfig c, long imageTokens, long textTokens) {
        long d = c.hiddenSize();
        long mlp = c.mlpHiddenSize();
        long n = imageTokens;
        long l = textTokens;
        long s = n + l;
        FlopCounter f = new FlopCounter();
        // x_embedder, context_embedder, the timestep/guidance/text MLPs (one row each), norm_out, proj_out
        long timeMlp = 2 * (FluxConfig.TIMESTEP_CHANNELS * d + d * d);
        f.add(Kind.EMBEDDINGS, 2 * n * c.inChannels() * d + 2 * l * c.jointAttentionDim() * d
                + timeMlp * (c.guidanceEmbeds() ? 2 : 1) + 2 * (c.pooledProjectionDim() * d + d * d)
                + 2 * d * 2 * d + 2 * n * d * c.outChannels());
        for (int i = 0; i < c.numLayers(); i++) {
            f.add(Kind.EMBEDDINGS, 2 * (2 * d * 6 * d)); // norm1, norm1_context on temb
            f.add(Kind.ATTENTION_PROJECTIONS, 8 * s * d * d); // q, k, v, out for both streams
            f.add(Kind.ATTENTION_SCORES, 4 * d * s * s);
            f.add(Kind.MLP, 2 * 2 * s * d * mlp); // up and down projection of both streams
        }
        for (int j = 0; j < c.numSingleLayers(); j++) {
            f.add(Kind.EMBEDDINGS, 2 * d * 3 * d);
            f.add(Kind.ATTENTION_PROJECTIONS, 8 * s * d * d); // q, k, v and the attention columns of proj_out
            f.add(Kind.ATTENTION_SCORES, 4 * d * s * s);
            f.add(Kind.MLP, 2 * 2 * s * d * mlp); // proj_mlp and the MLP columns of proj_out
        }
        return f;
    }

    @Override
    public void close() {
        params.close();
    }

    @Override
    public String toString() {
        return "FluxTransformer(" + config + ", " + dtype.displayName() + ", " + params.size() + " tensors)";
    }
}
