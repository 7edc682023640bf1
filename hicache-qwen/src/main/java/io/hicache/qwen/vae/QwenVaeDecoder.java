package io.hicache.qwen.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.nn.Layers;
import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.nn.Parameters;
import io.hicache.core.nn.Scopes;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The decoder of {@code AutoencoderKLQwenImage} for one frame (docs/qwen-image.md §7): normalised
 * latents → RGB in [−1, 1]. The latents are first de-normalised per channel, z = x·std_c + mean_c;
 * then post_quant_conv (1×1), conv_in, the mid block (residual, single-head attention over all pixels,
 * residual), the up blocks (num_res_blocks + 1 residual blocks each, all but the last ending in
 * nearest ×2 upsampling and a 3×3 convolution that halves the channels), RMS norm, SiLU, conv_out and
 * the clamp. Every causal 3-D convolution runs as the 2-D convolution with its last temporal tap
 * ({@link OneFrameWeights} explains why that is exact), through {@link Layers#conv2d}.
 *
 * <p>Residual block: shortcut(x) + conv2(SiLU(RMS2(conv1(SiLU(RMS1(x)))))), the shortcut a 1×1
 * convolution iff the width changes. RMS norm ({@code QwenImageRMS_norm}): x / max(‖x‖₂, 1e-12) · √C · γ
 * with the L2 norm over the channels of each pixel, reduced in fp32. Each block runs in its own scope.
 */
public final class QwenVaeDecoder implements AutoCloseable {
    static final double NORM_FLOOR = 1e-12;

    private final QwenVaeConfig config;
    private final TensorType dtype;
    private final Parameters params;
    private final Parameters decoder;
    private final Kernels kernels;

    private QwenVaeDecoder(QwenVaeConfig config, TensorType dtype, Parameters params) {
        this.config = config;
        this.dtype = dtype;
        this.params = params;
        this.decoder = params.scope("decoder.");
        this.kernels = Kernels.on(params.manager().getDevice());
    }

    /** Loads {@code vae/} (config.json and diffusion_pytorch_model.safetensors) or a model directory holding it. */
    public static QwenVaeDecoder load(Path path, TensorType dtype, NDManager manager) throws IOException {
        Path dir = Files.isRegularFile(path.resolve("vae").resolve("config.json")) ? path.resolve("vae") : path;
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new NoSuchFileException(dir.resolve("config.json").toString(), null,
                    "not a Qwen-Image VAE directory (expected vae/config.json; get the folder with "
                            + "`huggingface-cli download Qwen/Qwen-Image`)");
        }
        QwenVaeConfig config = QwenVaeConfig.read(dir);
        try (WeightStore store = WeightStore.open(dir)) {
            return load(store, config, dtype, manager);
        }
    }

    /** Checks {@code vae/} from its config and the safetensors header alone; returns the config. */
    public static QwenVaeConfig check(Path dir) throws IOException {
        QwenVaeConfig config = QwenVaeConfig.read(dir);
        try (WeightStore store = WeightStore.open(dir)) {
            OneFrameWeights.of(store, config);
        }
        return config;
    }

    /** Loads from a source with the stored names (encoder tensors may be present; they are not read). */
    public static QwenVaeDecoder load(WeightSource source, QwenVaeConfig config, TensorType dtype, NDManager manager)
            throws IOException {
        if (dtype != TensorType.F32 && dtype != TensorType.BF16) {
            throw new IllegalArgumentException("the VAE computes in float32 or bfloat16, not " + dtype.displayName());
        }
        OneFrameWeights weights = OneFrameWeights.of(source, config);
        return new QwenVaeDecoder(config, dtype, Parameters.load(weights, spec(weights), dtype, manager));
    }

    private static ParameterSpec spec(OneFrameWeights weights) {
        ParameterSpec s = new ParameterSpec();
        for (String n : weights.names()) {
            s.add(n, weights.shape(n));
        }
        return s;
    }

    public QwenVaeConfig config() {
        return config;
    }

    public TensorType dtype() {
        return dtype;
    }

    public long parameterBytes() {
        return params.bytes();
    }

    /**
     * Normalised latents [B, z_dim, h, w] (the transformer's space, any float dtype) → float32 images
     * [B, 3, 8h, 8w] clamped to [−1, 1], attached to the manager of {@code latents}.
     */
    public NDArray decode(NDArray latents) {
        long[] s = latents.getShape().getShape();
        if (s.length != 4 || s[1] != config.zDim || !Precision.typeOf(latents).isFloatingPoint()) {
            throw new IllegalArgumentException("latents must be floats [batch, " + config.zDim + ", height, width], got "
                    + Precision.typeOf(latents) + Arrays.toString(s));
        }
        return Scopes.apply(latents, in -> {
            NDArray z = Precision.cast(denormalize(in), dtype);
            z = conv(z, params, "post_quant_conv", 0);
            NDArray x = conv(z, decoder, "conv_in", 1);
            x = Scopes.step(x, h -> residual(decoder.scope("mid_block.resnets.0."), h));
            x = Scopes.step(x, h -> attention(decoder.scope("mid_block.attentions.0."), h));
            x = Scopes.step(x, h -> residual(decoder.scope("mid_block.resnets.1."), h));
            for (int i = 0; i < config.levels(); i++) {
                for (int j = 0; j <= config.numResBlocks; j++) {
                    Parameters p = decoder.scope("up_blocks." + i + ".resnets." + j + ".");
                    x = Scopes.step(x, h -> residual(p, h));
                }
                if (i != config.levels() - 1) {
                    Parameters p = decoder.scope("up_blocks." + i + ".upsamplers.0.resample.1");
                    x = Scopes.step(x, h -> upsample(p, h));
                }
            }
            x = Scopes.step(x, h -> conv(kernels.silu(rmsNorm(h, decoder.get("norm_out.gamma"))), decoder, "conv_out", 1));
            return Precision.toFloat32(x).clip(-1, 1);
        });
    }

    /** z = x·std_c + mean_c per channel, in float32. */
    NDArray denormalize(NDArray latents) {
        NDManager m = latents.getManager();
        long c = config.zDim;
        NDArray std = m.create(toFloats(config.latentsStd()), new Shape(1, c, 1, 1));
        NDArray mean = m.create(toFloats(config.latentsMean()), new Shape(1, c, 1, 1));
        return Precision.toFloat32(latents).mul(std).add(mean);
    }

    private static float[] toFloats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    /** QwenImageRMS_norm over the channels of [B, C, H, W]: x / max(‖x‖₂, 1e-12) · √C · γ (γ [C, 1, 1]). */
    static NDArray rmsNorm(NDArray x, NDArray gamma) {
        long c = x.getShape().get(1);
        NDArray x32 = Precision.toFloat32(x);
        NDArray norm = x32.square().sum(new int[] {1}, true).sqrt().maximum(NORM_FLOOR);
        NDArray y = x32.div(norm).mul(Math.sqrt(c));
        return Precision.cast(y, Precision.typeOf(x)).mul(gamma);
    }

    /** shortcut(x) + conv2(SiLU(RMS2(conv1(SiLU(RMS1(x)))))). */
    NDArray residual(Parameters p, NDArray x) {
        NDArray h = conv(kernels.silu(rmsNorm(x, p.get("norm1.gamma"))), p, "conv1", 1);
        h = conv(kernels.silu(rmsNorm(h, p.get("norm2.gamma"))), p, "conv2", 1);
        NDArray shortcut = p.find("conv_shortcut.weight") == null ? x : conv(x, p, "conv_shortcut", 0);
        return shortcut.add(h);
    }

    /**
     * The mid block's attention: RMS norm, to_qkv (1×1, channels [q | k | v]), one head over all h·w
     * pixels with width C and scale 1/√C, proj (1×1), residual.
     */
    NDArray attention(Parameters p, NDArray x) {
        long b = x.getShape().get(0);
        long c = x.getShape().get(1);
        long h = x.getShape().get(2);
        long w = x.getShape().get(3);
        NDArray qkv = conv(rmsNorm(x, p.get("norm.gamma")), p, "to_qkv", 0).reshape(b, 3 * c, h * w).transpose(0, 2, 1);
        NDArray q = qkv.get(":, :, 0:" + c);
        NDArray k = qkv.get(":, :, " + c + ":" + 2 * c);
        NDArray v = qkv.get(":, :, " + 2 * c + ":");
        NDArray o = kernels.sdpa(q, k, v, 1 / Math.sqrt(c)).transpose(0, 2, 1).reshape(b, c, h, w);
        return x.add(conv(o, p, "proj", 0));
    }

    /** Nearest ×2 (diffusers' nearest-exact, the same at an exact factor 2), then the 3×3 convolution. */
    NDArray upsample(Parameters resample, NDArray x) {
        return Layers.conv2d(kernels.upsampleNearest2x(x), resample.get(".weight"), resample.get(".bias"), 1);
    }

    static NDArray conv(NDArray x, Parameters p, String name, int padding) {
        return Layers.conv2d(x, p, name, padding);
    }

    @Override
    public void close() {
        params.close();
    }
}
