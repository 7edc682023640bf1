package io.hicache.flux;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheSession;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter.Kind;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.nn.Attention;
import io.hicache.core.nn.AttentionKernel;
import io.hicache.core.nn.FeedForward;
import io.hicache.core.nn.Layers;
import io.hicache.core.nn.Linear;
import io.hicache.core.nn.Modulation;
import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.nn.Parameters;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.nn.SinusoidalTimesteps;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.Checkpoints;
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
 * always run. Each module asks its own site whether it must run; the joint attention runs when
 * either stream's site needs it. The sites of a forward are those of its guidance branch.
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
    private static final String DOUBLE = "transformer_blocks.";
    private static final String SINGLE = "single_transformer_blocks.";

    private final FluxConfig config;
    private final TensorType dtype;
    private final Parameters params;
    private final Kernels kernels;
    private final Attention attention;
    private final AttentionKernel attentionKernel;
    private final FeedForward.Kernel mlpKernel;

    private FluxTransformer(FluxConfig config, TensorType dtype, Parameters params, AttentionKernel attentionKernel,
            FeedForward.Kernel mlpKernel) {
        this.config = config;
        this.dtype = dtype;
        this.params = params;
        this.kernels = Kernels.on(params.manager().getDevice());
        this.attention = attention(config);
        this.attentionKernel = attentionKernel;
        this.mlpKernel = mlpKernel;
    }

    /**
     * This transformer (sharing its weights) with another attention core for every block and
     * another MLP for the image stream's feed-forward of the double blocks and the single blocks'
     * MLP (the text stream's stays dense): how a sparse method such as Chipmunk plugs in. With a
     * kernel other than {@link FeedForward.Kernel#DENSE} a single block computes proj_out as its
     * attention columns plus bias, plus the kernel's MLP over the MLP columns without bias. Closing
     * either closes the shared weights.
     */
    public FluxTransformer withKernels(AttentionKernel attentionKernel, FeedForward.Kernel imageMlpKernel) {
        return new FluxTransformer(config, dtype, params, attentionKernel, imageMlpKernel);
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
        return new FluxTransformer(config, dtype, Parameters.load(weights, parameterSpec(config), dtype, manager),
                AttentionKernel.DENSE, FeedForward.Kernel.DENSE);
    }

    /**
     * Checks {@code weights} against {@code config} from names and shapes alone: the block counts
     * first, then every tensor.
     *
     * @throws io.hicache.core.pipeline.InvalidModelException when they do not match
     */
    public static void check(WeightSource weights, FluxConfig config) throws IOException {
        Checkpoints.requireBlocks(weights, "transformer_blocks.", config.numLayers(),
                "num_layers = " + config.numLayers());
        Checkpoints.requireBlocks(weights, "single_transformer_blocks.", config.numSingleLayers(),
                "num_single_layers = " + config.numSingleLayers());
        weights.verify(parameterSpec(config).shapes());
    }

    /** Every parameter name and shape of {@code config}, in diffusers naming. */
    public static ParameterSpec parameterSpec(FluxConfig c) {
        long d = c.hiddenSize();
        long mlp = c.mlpHiddenSize();
        Attention attention = attention(c);
        ParameterSpec s = new ParameterSpec();
        Linear.declare(s, "x_embedder", d, c.inChannels(), true);
        Linear.declare(s, "context_embedder", d, c.jointAttentionDim(), true);
        timestepMlpSpec(s, "time_text_embed.timestep_embedder", FluxConfig.TIMESTEP_CHANNELS, d);
        if (c.guidanceEmbeds()) {
            timestepMlpSpec(s, "time_text_embed.guidance_embedder", FluxConfig.TIMESTEP_CHANNELS, d);
        }
        timestepMlpSpec(s, "time_text_embed.text_embedder", c.pooledProjectionDim(), d);
        for (int i = 0; i < c.numLayers(); i++) {
            String p = DOUBLE + i + ".";
            Modulation.declare(s, p + "norm1.linear", 6, d);
            Modulation.declare(s, p + "norm1_context.linear", 6, d);
            attention.declareJoint(s, p + "attn.");
            FeedForward.declare(s, p + "ff", d, mlp);
            FeedForward.declare(s, p + "ff_context", d, mlp);
        }
        for (int j = 0; j < c.numSingleLayers(); j++) {
            String p = SINGLE + j + ".";
            Modulation.declare(s, p + "norm.linear", 3, d);
            attention.declareSelf(s, p + "attn.");
            Linear.declare(s, p + "proj_mlp", mlp, d, true);
            Linear.declare(s, p + "proj_out", d, d + mlp, true);
        }
        Modulation.declare(s, "norm_out.linear", 2, d);
        return Linear.declare(s, "proj_out", c.outChannels(), d, true);
    }

    private static void timestepMlpSpec(ParameterSpec s, String prefix, long in, long d) {
        Linear.declare(s, prefix + ".linear_1", d, in, true);
        Linear.declare(s, prefix + ".linear_2", d, d, true);
    }

    private static Attention attention(FluxConfig c) {
        return new Attention(c.numAttentionHeads(), c.attentionHeadDim(), FluxConfig.NORM_EPS);
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
     * @param branch the guidance branch whose cache sites this forward uses
     * @param session the cache of this generation, positioned at the current step
     * @param flops receives the FLOPs of every matrix product that runs
     */
    public NDArray forward(NDArray hidden, NDArray encoderHidden, NDArray pooled, float[] timestep, float[] guidance,
            RotaryEmbedding rope, String branch, CacheSession session, FlopCounter flops) {
        checkInputs(hidden, encoderHidden, pooled, timestep, guidance, rope);
        long textTokens = encoderHidden.getShape().get(1);
        NDManager caller = hidden.getManager();
        try (NDManager fwd = caller.newSubManager()) {
            fwd.tempAttachAll(hidden, encoderHidden, pooled);
            NDArray temb = conditioning(timestep, guidance, Precision.cast(pooled, dtype), flops, fwd);
            // every modulation (AdaLayerNormZero, AdaLayerNormContinuous) starts with SiLU(temb)
            NDArray siluTemb = kernels.silu(temb);
            NDArray img = Linear.forward(params, "x_embedder", Precision.cast(hidden, dtype), Kind.EMBEDDINGS, flops);
            NDArray txt = Linear.forward(params, "context_embedder", Precision.cast(encoderHidden, dtype), Kind.EMBEDDINGS,
                    flops);
            for (int i = 0; i < config.numLayers(); i++) {
                NDArray[] next;
                try (NDManager block = fwd.newSubManager()) {
                    block.tempAttachAll(img, txt, siluTemb);
                    next = doubleBlock(i, img, txt, siluTemb, rope, branch, session, flops, block);
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
                    next = singleBlock(j, z, siluTemb, rope, branch, session, flops, block);
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
        return temb.add(embeddingMlp(pooled, "time_text_embed.text_embedder", flops));
    }

    private NDArray timestepMlp(float[] values, String prefix, FlopCounter flops, NDManager scope) {
        double[] scaled = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            scaled[i] = values[i] * 1000.0;
        }
        NDArray features = Precision.cast(SinusoidalTimesteps.embed(scaled, FluxConfig.TIMESTEP_CHANNELS, scope), dtype);
        return embeddingMlp(features, prefix, flops);
    }

    /** linear_2(SiLU(linear_1(x))), diffusers' TimestepEmbedding and PixArtAlphaTextProjection. */
    private NDArray embeddingMlp(NDArray x, String prefix, FlopCounter flops) {
        NDArray h = kernels.silu(Linear.forward(params, prefix + ".linear_1", x, Kind.EMBEDDINGS, flops));
        return Linear.forward(params, prefix + ".linear_2", h, Kind.EMBEDDINGS, flops);
    }

    /**
     * Double-stream block {@code i}: returns {img, txt} after the block. Each of the four cached
     * modules runs only when its site needs it (the joint attention when either stream's does).
     * Results live in the managers of the inputs (the caller scopes them); forecasts are attached
     * to {@code scope}.
     */
    NDArray[] doubleBlock(int i, NDArray img, NDArray txt, NDArray siluTemb, RotaryEmbedding rope, String branch,
            CacheSession session, FlopCounter flops, NDManager scope) {
        Parameters p = params.scope(DOUBLE + i + ".");
        SiteKey imgAttnSite = new SiteKey(branch, i, IMG_ATTN);
        SiteKey txtAttnSite = new SiteKey(branch, i, TXT_ATTN);
        SiteKey imgMlpSite = new SiteKey(branch, i, IMG_MLP);
        SiteKey txtMlpSite = new SiteKey(branch, i, TXT_MLP);
        boolean computes = session.needsAnyCompute(imgAttnSite, txtAttnSite, imgMlpSite, txtMlpSite);
        // chunks: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp; a block that
        // only forecasts needs the gates alone
        NDArray[] m = Modulation.zeroChunks(p, "norm1.linear", siluTemb, 6, !computes, flops);
        NDArray[] c = Modulation.zeroChunks(p, "norm1_context.linear", siluTemb, 6, !computes, flops);
        NDArray[] attn = {null, null};
        if (session.needsAnyCompute(imgAttnSite, txtAttnSite)) {
            NDArray x = kernels.modulate(img, m[0], m[1], FluxConfig.NORM_EPS);
            NDArray y = kernels.modulate(txt, c[0], c[1], FluxConfig.NORM_EPS);
            attn = attention.joint(p.scope("attn."), x, y, rope, null, attentionKernel, imgAttnSite, flops);
        }
        NDArray imgAttn = session.resolve(imgAttnSite, attn[0], scope);
        NDArray img1 = kernels.gatedAdd(img, m[2], imgAttn);
        NDArray imgMlp = session.needsCompute(imgMlpSite)
                ? FeedForward.forward(p, "ff", kernels.modulate(img1, m[3], m[4], FluxConfig.NORM_EPS),
                        mlpKernel, imgMlpSite, flops)
                : null;
        imgMlp = session.resolve(imgMlpSite, imgMlp, scope);
        NDArray img2 = kernels.gatedAdd(img1, m[5], imgMlp);

        NDArray txtAttn = session.resolve(txtAttnSite, attn[1], scope);
        NDArray txt1 = kernels.gatedAdd(txt, c[2], txtAttn);
        NDArray txtMlp = session.needsCompute(txtMlpSite)
                ? FeedForward.forward(p, "ff_context", kernels.modulate(txt1, c[3], c[4], FluxConfig.NORM_EPS),
                        FeedForward.Kernel.DENSE, txtMlpSite, flops)
                : null;
        txtMlp = session.resolve(txtMlpSite, txtMlp, scope);
        NDArray txt2 = kernels.gatedAdd(txt1, c[5], txtMlp);
        return new NDArray[] {img2, txt2};
    }

    /** Single-stream block {@code j} on the joint sequence z = [text; image]; returns z after it. */
    NDArray singleBlock(int j, NDArray z, NDArray siluTemb, RotaryEmbedding rope, String branch, CacheSession session,
            FlopCounter flops, NDManager scope) {
        Parameters p = params.scope(SINGLE + j + ".");
        SiteKey site = new SiteKey(branch, config.numLayers() + j, TOTAL);
        // chunks: shift, scale, gate; a forecast needs the gate alone
        NDArray[] m = Modulation.zeroChunks(p, "norm.linear", siluTemb, 3, !session.needsCompute(site), flops);
        NDArray total = null;
        if (session.needsCompute(site)) {
            NDArray x = kernels.modulate(z, m[0], m[1], FluxConfig.NORM_EPS);
            long tokens = z.getShape().size() / config.hiddenSize();
            long d = config.hiddenSize();
            if (mlpKernel == FeedForward.Kernel.DENSE) {
                NDArray mlp = kernels.geluTanh(Linear.forward(p, "proj_mlp", x, Kind.MLP, flops));
                NDArray o = attention.self(p.scope("attn."), x, rope, null, attentionKernel, site, flops);
                // proj_out's input columns are [attention | MLP]: count each part as what it is
                flops.linear(Kind.ATTENTION_PROJECTIONS, tokens, d, d);
                flops.linear(Kind.MLP, tokens, config.mlpHiddenSize(), d);
                total = Layers.linear(o.concat(mlp, 2), p.get("proj_out.weight"), p.get("proj_out.bias"));
            } else {
                // the MLP (proj_mlp, GELU, the MLP columns of proj_out) runs through the kernel without
                // a bias; proj_out's bias is added once, with the attention columns
                NDArray w = p.get("proj_out.weight");
                // the column views would otherwise belong to the weights' manager and outlive the block
                NDArray wAttention = w.get(new NDIndex(":, :" + d));
                NDArray wMlp = w.get(new NDIndex(":, " + d + ":"));
                scope.attachAll(wAttention, wMlp);
                NDArray o = attention.self(p.scope("attn."), x, rope, null, attentionKernel, site, flops);
                flops.linear(Kind.ATTENTION_PROJECTIONS, tokens, d, d);
                NDArray mlp = mlpKernel.apply(site, x, p.get("proj_mlp.weight"), p.get("proj_mlp.bias"), wMlp, null,
                        flops);
                total = Layers.linear(o, wAttention, p.get("proj_out.bias")).add(mlp);
            }
        }
        total = session.resolve(site, total, scope);
        return kernels.gatedAdd(z, m[2], total);
    }

    /** AdaLayerNormContinuous with diffusers' (scale, shift) order, then proj_out. */
    NDArray finalLayer(NDArray img, NDArray siluTemb, FlopCounter flops) {
        NDArray h = Modulation.continuousNorm(params, "norm_out.linear", img, siluTemb, FluxConfig.NORM_EPS, flops);
        return Linear.forward(params, "proj_out", h, Kind.EMBEDDINGS, flops);
    }

    // ------------------------------------------------------------------------------------ FLOPs

    /**
     * The analytic FLOPs of one full forward of one sample (docs/models.md §6: matrix
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
            Modulation.countDualStreamBlock(f, d, mlp, s);
        }
        for (int j = 0; j < c.numSingleLayers(); j++) {
            f.add(Kind.EMBEDDINGS, 2 * d * 3 * d);
            f.add(Kind.ATTENTION_PROJECTIONS, 8 * s * d * d); // q, k, v and the attention columns of proj_out
            f.add(Kind.ATTENTION_SCORES, 4 * d * s * s);
            f.add(Kind.MLP, 2 * 2 * s * d * mlp); // proj_mlp and the MLP columns of proj_out
        }
        return f;
    }

    /**
     * The analytic FLOPs of one forward of one sample whose cached modules are all forecast: the
     * embeddings and the final layer, and of every block's modulation only the gates (2 of the 6
     * chunks per stream of a double block, 1 of the 3 of a single block); no attention, no MLP.
     */
    public static FlopCounter flopsPerForecast(FluxConfig c, long imageTokens, long textTokens) {
        long d = c.hiddenSize();
        long allChunks = c.numLayers() * 2 * (2 * d * 6 * d) + c.numSingleLayers() * (2 * d * 3 * d);
        long gates = c.numLayers() * 2 * (2 * d * 2 * d) + c.numSingleLayers() * (2 * d * d);
        FlopCounter f = new FlopCounter();
        f.add(Kind.EMBEDDINGS, flopsPerForward(c, imageTokens, textTokens).get(Kind.EMBEDDINGS) - allChunks + gates);
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
