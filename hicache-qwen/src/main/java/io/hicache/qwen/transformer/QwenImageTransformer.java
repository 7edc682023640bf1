package io.hicache.qwen.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheSession;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.metrics.FlopCounter.Kind;
import io.hicache.core.nn.Attention;
import io.hicache.core.nn.AttentionKernel;
import io.hicache.core.nn.FeedForward;
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
import java.util.List;

/**
 * The Qwen-Image transformer ({@code QwenImageTransformer2DModel}), docs/qwen-image.md §3–§5:
 * {@code img_in}, {@code txt_norm} (RMSNorm) + {@code txt_in}, the timestep embedding (no pooled text,
 * no guidance), dual-stream blocks with {@code img_mod}/{@code txt_mod} modulation, per-head QK
 * RMSNorm, MSRoPE and joint attention over [text; image], tanh-GELU MLPs, then
 * {@code norm_out} (AdaLayerNormContinuous, (scale, shift) order) and {@code proj_out}.
 *
 * <p><b>Caching.</b> Every block caches its four pre-gate outputs {@code img_attn}, {@code txt_attn}
 * (after {@code to_out.0} / {@code to_add_out}), {@code img_mlp}, {@code txt_mlp} (layer = block index)
 * under the caller's guidance branch, as upstream HiCache does. On a forecast step no norm, projection,
 * attention or MLP of a block runs; the embeddings, every block's modulation linears, the gated
 * residual adds and the final layer always run. The joint attention runs when either stream's site
 * needs it.
 *
 * <p><b>Padded text.</b> A text mask [B, L] (1 = token, 0 = padding) becomes an additive key mask over
 * the joint sequence: padded text keys get −∞, image keys are always valid. Without padding (the
 * pipeline's separate cond/uncond passes) no mask is built.
 *
 * <p><b>Precision, memory, FLOPs</b> as {@code FluxTransformer}: compute dtype float32 or bfloat16,
 * timestep features and RoPE in fp32, norms reduce in fp32; one sub-manager per forward and per block;
 * every matrix product that runs is counted from the actual shapes, and {@link #flopsPerForward} is
 * the analytic count of a full forward.
 */
public final class QwenImageTransformer implements AutoCloseable {
    public static final String IMG_ATTN = "img_attn";
    public static final String TXT_ATTN = "txt_attn";
    public static final String IMG_MLP = "img_mlp";
    public static final String TXT_MLP = "txt_mlp";
    /** The cached modules of every block, in the order they run. */
    public static final List<String> SITE_MODULES = List.of(IMG_ATTN, TXT_ATTN, IMG_MLP, TXT_MLP);
    private static final String BLOCK = "transformer_blocks.";
    private static final String TIMESTEP_MLP = "time_text_embed.timestep_embedder";

    private final QwenImageConfig config;
    private final TensorType dtype;
    private final Parameters params;
    private final Kernels kernels;
    private final Attention attention;
    private final AttentionKernel attentionKernel;

    private QwenImageTransformer(QwenImageConfig config, TensorType dtype, Parameters params) {
        this.config = config;
        this.dtype = dtype;
        this.params = params;
        this.kernels = Kernels.on(params.manager().getDevice());
        this.attention = attention(config);
        this.attentionKernel = AttentionKernel.DENSE;
    }

    // ------------------------------------------------------------------------------------ loading

    /**
     * Loads a transformer in {@code dtype} (float32 or bfloat16) onto {@code manager}'s device from a
     * model directory (with {@code transformer/config.json}) or the {@code transformer} directory
     * itself: config.json plus {@code diffusion_pytorch_model*.safetensors}, sharded with an index
     * (the real repository has 9 shards) or a single file.
     *
     * @throws io.hicache.core.weights.CheckpointMismatchException listing every missing, unexpected
     *     and wrongly shaped tensor
     */
    public static QwenImageTransformer load(Path path, TensorType dtype, NDManager manager) throws IOException {
        Path dir = Files.isRegularFile(path.resolve("transformer").resolve("config.json")) ? path.resolve("transformer")
                : path;
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new NoSuchFileException(config.toString(), null,
                    "not a Qwen-Image model directory (expected transformer/config.json; get the folder with "
                            + "`huggingface-cli download Qwen/Qwen-Image`)");
        }
        QwenImageConfig c = QwenImageConfig.read(config);
        try (WeightStore weights = WeightStore.open(dir)) {
            return load(weights, c, dtype, manager);
        }
    }

    /** Loads from any source presenting diffusers names (verified first; tensors are copied). */
    public static QwenImageTransformer load(WeightSource weights, QwenImageConfig config, TensorType dtype,
            NDManager manager) throws IOException {
        if (dtype != TensorType.F32 && dtype != TensorType.BF16) {
            throw new IllegalArgumentException("Qwen-Image computes in float32 or bfloat16, not " + dtype.displayName());
        }
        return new QwenImageTransformer(config, dtype, Parameters.load(weights, parameterSpec(config), dtype, manager));
    }

    /**
     * Checks {@code weights} against {@code config} from names and shapes alone: the block count
     * first, then every tensor.
     *
     * @throws io.hicache.core.weights.CheckpointMismatchException or
     *     {@link io.hicache.core.pipeline.InvalidModelException} when they do not match
     */
    public static void check(WeightSource weights, QwenImageConfig config) throws IOException {
        Checkpoints.requireBlocks(weights, BLOCK, config.numLayers(), "num_layers = " + config.numLayers());
        weights.verify(parameterSpec(config).shapes());
    }

    /** Every parameter name and shape of {@code config}, in diffusers naming (1933 tensors for Qwen-Image). */
    public static ParameterSpec parameterSpec(QwenImageConfig c) {
        long d = c.hiddenSize();
        long mlp = c.mlpHiddenSize();
        Attention attention = attention(c);
        ParameterSpec s = new ParameterSpec();
        Linear.declare(s, "img_in", d, c.inChannels(), true);
        s.norm("txt_norm", c.jointAttentionDim(), false);
        Linear.declare(s, "txt_in", d, c.jointAttentionDim(), true);
        Linear.declare(s, TIMESTEP_MLP + ".linear_1", d, QwenImageConfig.TIMESTEP_CHANNELS, true);
        Linear.declare(s, TIMESTEP_MLP + ".linear_2", d, d, true);
        for (int i = 0; i < c.numLayers(); i++) {
            String p = BLOCK + i + ".";
            Modulation.declare(s, p + "img_mod.1", 6, d);
            Modulation.declare(s, p + "txt_mod.1", 6, d);
            attention.declareJoint(s, p + "attn.");
            FeedForward.declare(s, p + "img_mlp", d, mlp);
            FeedForward.declare(s, p + "txt_mlp", d, mlp);
        }
        Modulation.declare(s, "norm_out.linear", 2, d);
        return Linear.declare(s, "proj_out", c.packedOutChannels(), d, true);
    }

    private static Attention attention(QwenImageConfig c) {
        return new Attention(c.numAttentionHeads(), c.attentionHeadDim(), QwenImageConfig.NORM_EPS);
    }

    public QwenImageConfig config() {
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
     * RoPE tables of the joint sequence [text; images] for {@code textTokens} text tokens and the
     * packed grids of {@code images} (T2I: one grid, height/16 × width/16). Build once per generation
     * and text length.
     */
    public RotaryEmbedding rotaryEmbedding(long textTokens, List<MsRope.Grid> images, NDManager manager) {
        return MsRope.joint(textTokens, images, config.axesDimsRope(), manager);
    }

    /**
     * The velocity for packed latents {@code hidden} [B, N, in_channels] given text encoder hidden
     * states {@code encoderHidden} [B, L, joint_attention_dim], an optional text mask [B, L] (1 = token,
     * 0 = padding; null when nothing is padded) and per-sample timesteps σ (the model multiplies by
     * 1000). Inputs may be in any float dtype. Returns [B, N, 4·out_channels] in the compute dtype, in
     * {@code hidden}'s manager.
     *
     * @param rope tables from {@link #rotaryEmbedding} for L text and N image tokens
     * @param branch the guidance branch whose cache sites this forward uses
     * @param session the cache of this generation, positioned at the current step
     * @param flops receives the FLOPs of every matrix product that runs
     */
    public NDArray forward(NDArray hidden, NDArray encoderHidden, NDArray textMask, float[] timestep,
            RotaryEmbedding rope, String branch, CacheSession session, FlopCounter flops) {
        checkInputs(hidden, encoderHidden, textMask, timestep, rope);
        NDManager caller = hidden.getManager();
        try (NDManager fwd = caller.newSubManager()) {
            fwd.tempAttachAll(hidden, encoderHidden);
            NDArray mask = jointKeyMask(textMask, hidden.getShape().get(1), fwd);
            NDArray temb = timestepEmbedding(timestep, flops, fwd);
            // every modulation (img_mod, txt_mod, norm_out) starts with SiLU(temb)
            NDArray siluTemb = kernels.silu(temb);
            NDArray img = Linear.forward(params, "img_in", Precision.cast(hidden, dtype), Kind.EMBEDDINGS, flops);
            NDArray txtNormed = kernels.rmsNorm(Precision.cast(encoderHidden, dtype), params.get("txt_norm.weight"),
                    QwenImageConfig.NORM_EPS);
            NDArray txt = Linear.forward(params, "txt_in", txtNormed, Kind.EMBEDDINGS, flops);
            for (int i = 0; i < config.numLayers(); i++) {
                NDArray[] next;
                try (NDManager block = fwd.newSubManager()) {
                    block.tempAttachAll(img, txt, siluTemb);
                    next = block(i, img, txt, siluTemb, rope, mask, branch, session, flops, block);
                    fwd.attachAll(next);
                }
                img.close();
                txt.close();
                img = next[0];
                txt = next[1];
            }
            NDArray out = finalLayer(img, siluTemb, flops);
            out.attach(caller);
            return out;
        }
    }

    private void checkInputs(NDArray hidden, NDArray encoderHidden, NDArray textMask, float[] timestep,
            RotaryEmbedding rope) {
        Shape h = hidden.getShape();
        Shape e = encoderHidden.getShape();
        if (h.dimension() != 3 || h.get(2) != config.inChannels()) {
            throw new IllegalArgumentException("packed latents must be [B, N, " + config.inChannels() + "], got " + h);
        }
        long b = h.get(0);
        if (e.dimension() != 3 || e.get(0) != b || e.get(2) != config.jointAttentionDim() || e.get(1) < 1) {
            throw new IllegalArgumentException("prompt embeddings must be [" + b + ", L, " + config.jointAttentionDim()
                    + "], got " + e);
        }
        if (textMask != null && !textMask.getShape().equals(new Shape(b, e.get(1)))) {
            throw new IllegalArgumentException("the text mask must be [" + b + ", " + e.get(1) + "], got "
                    + textMask.getShape());
        }
        if (timestep.length != b) {
            throw new IllegalArgumentException(timestep.length + " timesteps for a batch of " + b);
        }
        if (rope.length() != h.get(1) + e.get(1)) {
            throw new IllegalArgumentException("RoPE tables cover " + rope.length() + " tokens, the joint sequence has "
                    + (h.get(1) + e.get(1)));
        }
    }

    /**
     * The additive key mask [B, 1, 1, L + N] for a text mask with padding: 0 for kept text tokens and
     * every image token, −∞ for padded text; null when the mask is absent or keeps every token (then
     * the forward is exactly the unmasked one).
     */
    static NDArray jointKeyMask(NDArray textMask, long imageTokens, NDManager scope) {
        if (textMask == null) {
            return null;
        }
        NDArray f32 = Precision.toFloat32(textMask);
        float[] keep = f32.toFloatArray();
        if (f32 != textMask) {
            f32.close();
        }
        long b = textMask.getShape().get(0);
        int l = Math.toIntExact(textMask.getShape().get(1));
        int s = Math.toIntExact(l + imageTokens);
        float[] additive = new float[Math.toIntExact(b * s)];
        boolean padded = false;
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < l; j++) {
                float v = keep[i * l + j];
                if (v != 0 && v != 1) {
                    throw new IllegalArgumentException("the text mask must hold 0 and 1 only, got " + v);
                }
                if (v == 0) {
                    additive[i * s + j] = Float.NEGATIVE_INFINITY;
                    padded = true;
                }
            }
        }
        return padded ? scope.create(additive, new Shape(b, 1, 1, s)) : null;
    }

    /** temb = linear_2(SiLU(linear_1(φ(1000σ)))), [B, d]. */
    private NDArray timestepEmbedding(float[] timestep, FlopCounter flops, NDManager scope) {
        double[] scaled = new double[timestep.length];
        for (int i = 0; i < timestep.length; i++) {
            scaled[i] = timestep[i] * 1000.0;
        }
        NDArray features = Precision.cast(SinusoidalTimesteps.embed(scaled, QwenImageConfig.TIMESTEP_CHANNELS, scope),
                dtype);
        NDArray h = kernels.silu(Linear.forward(params, TIMESTEP_MLP + ".linear_1", features, Kind.EMBEDDINGS, flops));
        return Linear.forward(params, TIMESTEP_MLP + ".linear_2", h, Kind.EMBEDDINGS, flops);
    }

    /**
     * Dual-stream block {@code i}: returns {img, txt} after the block. Each of the four cached modules
     * runs only when its site needs it (the joint attention when either stream's does). Forecasts are
     * attached to {@code scope}.
     */
    NDArray[] block(int i, NDArray img, NDArray txt, NDArray siluTemb, RotaryEmbedding rope, NDArray mask, String branch,
            CacheSession session, FlopCounter flops, NDManager scope) {
        Parameters p = params.scope(BLOCK + i + ".");
        double eps = QwenImageConfig.NORM_EPS;
        SiteKey imgAttnSite = new SiteKey(branch, i, IMG_ATTN);
        SiteKey txtAttnSite = new SiteKey(branch, i, TXT_ATTN);
        SiteKey imgMlpSite = new SiteKey(branch, i, IMG_MLP);
        SiteKey txtMlpSite = new SiteKey(branch, i, TXT_MLP);
        boolean computes = session.needsAnyCompute(imgAttnSite, txtAttnSite, imgMlpSite, txtMlpSite);
        // chunks: shift1, scale1, gate1, shift2, scale2, gate2; a block that only forecasts needs
        // the gates alone
        NDArray[] m = Modulation.zeroChunks(p, "img_mod.1", siluTemb, 6, !computes, flops);
        NDArray[] c = Modulation.zeroChunks(p, "txt_mod.1", siluTemb, 6, !computes, flops);
        NDArray[] attn = {null, null};
        if (session.needsAnyCompute(imgAttnSite, txtAttnSite)) {
            NDArray x = kernels.modulate(img, m[0], m[1], eps);
            NDArray y = kernels.modulate(txt, c[0], c[1], eps);
            attn = attention.joint(p.scope("attn."), x, y, rope, mask, attentionKernel, imgAttnSite, flops);
        }
        NDArray imgAttn = session.resolve(imgAttnSite, attn[0], scope);
        NDArray img1 = kernels.gatedAdd(img, m[2], imgAttn);
        NDArray txtAttn = session.resolve(txtAttnSite, attn[1], scope);
        NDArray txt1 = kernels.gatedAdd(txt, c[2], txtAttn);

        NDArray imgMlp = session.needsCompute(imgMlpSite)
                ? FeedForward.forward(p, "img_mlp", kernels.modulate(img1, m[3], m[4], eps),
                        FeedForward.Kernel.DENSE, imgMlpSite, flops)
                : null;
        imgMlp = session.resolve(imgMlpSite, imgMlp, scope);
        NDArray img2 = kernels.gatedAdd(img1, m[5], imgMlp);

        NDArray txtMlp = session.needsCompute(txtMlpSite)
                ? FeedForward.forward(p, "txt_mlp", kernels.modulate(txt1, c[3], c[4], eps),
                        FeedForward.Kernel.DENSE, txtMlpSite, flops)
                : null;
        txtMlp = session.resolve(txtMlpSite, txtMlp, scope);
        NDArray txt2 = kernels.gatedAdd(txt1, c[5], txtMlp);
        return new NDArray[] {img2, txt2};
    }

    /** norm_out (AdaLayerNormContinuous, diffusers' (scale, shift) order), then proj_out. */
    NDArray finalLayer(NDArray img, NDArray siluTemb, FlopCounter flops) {
        NDArray h = Modulation.continuousNorm(params, "norm_out.linear", img, siluTemb, QwenImageConfig.NORM_EPS, flops);
        return Linear.forward(params, "proj_out", h, Kind.EMBEDDINGS, flops);
    }

    // ------------------------------------------------------------------------------------ FLOPs

    /**
     * The analytic FLOPs of one full forward of one sample (docs/qwen-image.md §8: matrix products
     * only, 2·M·N·K each) with {@code imageTokens} packed image and {@code textTokens} text tokens, by
     * kind. Per block 24·d²·S + 4·d·S² + 24·d² (S = N + L; the last term is img_mod and txt_mod on
     * temb); embeddings and head 2·64·d·N + 2·3584·d·L + 2·d·64·N plus the timestep MLP and norm_out.
     * Qwen-Image at 1328² (N = 6889) with L = 64 text tokens: 130.15 TFLOP.
     */
    public static FlopCounter flopsPerForward(QwenImageConfig c, long imageTokens, long textTokens) {
        long d = c.hiddenSize();
        long mlp = c.mlpHiddenSize();
        long n = imageTokens;
        long l = textTokens;
        long s = n + l;
        FlopCounter f = new FlopCounter();
        f.add(Kind.EMBEDDINGS, 2 * n * c.inChannels() * d + 2 * l * c.jointAttentionDim() * d
                + 2 * (QwenImageConfig.TIMESTEP_CHANNELS * d + d * d) + 2 * d * 2 * d
                + 2 * n * d * c.packedOutChannels());
        for (int i = 0; i < c.numLayers(); i++) {
            Modulation.countDualStreamBlock(f, d, mlp, s);
        }
        return f;
    }

    /**
     * The analytic FLOPs of one forward of one sample whose cached modules are all forecast: the
     * embeddings and the final layer, and of every block's modulation only the gates (2 of the 6
     * chunks per stream); no attention, no MLP.
     */
    public static FlopCounter flopsPerForecast(QwenImageConfig c, long imageTokens, long textTokens) {
        long d = c.hiddenSize();
        long allChunks = c.numLayers() * 2 * (2 * d * 6 * d);
        long gates = c.numLayers() * 2 * (2 * d * 2 * d);
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
        return "QwenImageTransformer(" + config + ", " + dtype.displayName() + ", " + params.size() + " tensors)";
    }
}
