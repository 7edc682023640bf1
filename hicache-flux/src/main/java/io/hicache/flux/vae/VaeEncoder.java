package io.hicache.flux.vae;

import static io.hicache.flux.vae.VaeBlocks.conv;

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
import io.hicache.core.weights.RenamedWeightSource;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import io.hicache.flux.ModelFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The encoder half of FLUX's AutoencoderKL: RGB in [−1, 1] → transformer-space latents. conv_in, down
 * blocks of layers_per_block ResNets with a stride-2 3×3 convolution after all but the last (input
 * padded by one zero column on the right and one zero row at the bottom first, as diffusers'
 * Downsample2D does with padding 0), the mid block shared with the decoder, GroupNorm, SiLU and
 * conv_out to 2·latent_channels moments (mean, log-variance), quant_conv when configured. The latent is
 * the posterior's mean, mapped to the transformer's space as (mean − shift_factor)·scaling_factor,
 * the inverse of {@link VaeDecoder#decode}'s first step.
 */
public final class VaeEncoder implements AutoCloseable {
    /** Diffusers' Downsample2D padding for {@code padding=0}: (left 0, right 1, top 0, bottom 1). */
    private static final Shape DOWNSAMPLE_PAD = new Shape(0, 1, 0, 1);

    private final VaeConfig config;
    private final TensorType dtype;
    private final Parameters params;
    private final Parameters encoder;
    private final VaeBlocks blocks;

    private VaeEncoder(VaeConfig config, TensorType dtype, Parameters params) {
        this.config = config;
        this.dtype = dtype;
        this.params = params;
        this.encoder = params.scope("encoder.");
        this.blocks = new VaeBlocks(config, Kernels.on(params.manager().getDevice()));
    }

    /** Loads the encoder side of {@code vae/}: config.json plus diffusers' diffusion_pytorch_model.safetensors. */
    public static VaeEncoder load(Path dir, TensorType dtype, NDManager manager) throws IOException {
        VaeConfig config = VaeConfig.read(dir);
        try (WeightStore store = ModelFiles.openWeights(dir)) {
            return load(encoderSide(store), config, dtype, manager);
        }
    }

    /** Loads from a source with diffusers names ({@code encoder.*}, {@code quant_conv.*}). */
    public static VaeEncoder load(WeightSource source, VaeConfig config, TensorType dtype, NDManager manager)
            throws IOException {
        ModelFiles.requireComputeType(dtype);
        return new VaeEncoder(config, dtype, Parameters.load(source, spec(config), dtype, manager));
    }

    /** The checkpoint's encoder side only ({@code encoder.*}, {@code quant_conv.*}). */
    static WeightSource encoderSide(WeightSource full) {
        RenamedWeightSource.Builder b = RenamedWeightSource.over(full);
        for (String n : full.names()) {
            if (n.startsWith("encoder.") || n.startsWith("quant_conv.")) {
                b.map(n, n);
            }
        }
        return b.build();
    }

    /** Every encoder parameter with its diffusers name and shape. */
    public static ParameterSpec spec(VaeConfig c) {
        int[] ch = c.blockOutChannels();
        int levels = ch.length;
        int top = ch[levels - 1];
        int moments = 2 * c.latentChannels;
        ParameterSpec s = new ParameterSpec();
        s.conv2d("encoder.conv_in", ch[0], c.inChannels, 3, true);
        int previous = ch[0];
        for (int i = 0; i < levels; i++) {
            for (int j = 0; j < c.layersPerBlock; j++) {
                VaeBlocks.resnetSpec(s, "encoder.down_blocks." + i + ".resnets." + j, j == 0 ? previous : ch[i], ch[i]);
            }
            if (i < levels - 1) {
                s.conv2d("encoder.down_blocks." + i + ".downsamplers.0.conv", ch[i], ch[i], 3, true);
            }
            previous = ch[i];
        }
        VaeBlocks.midBlockSpec(s, "encoder", top, c.midBlockAddAttention);
        s.norm("encoder.conv_norm_out", top, true).conv2d("encoder.conv_out", moments, top, 3, true);
        if (c.useQuantConv) {
            s.conv2d("quant_conv", moments, moments, 1, true);
        }
        return s;
    }

    public VaeConfig config() {
        return config;
    }

    public TensorType dtype() {
        return dtype;
    }

    public long parameterBytes() {
        return params.bytes();
    }

    /**
     * Images [B, in_channels, H, W] in [−1, 1] (any float dtype; H and W multiples of
     * {@link VaeConfig#scaleFactor()}) → float32 transformer-space latents [B, latent_channels, H/s, W/s]:
     * the posterior mean, then (mean − shift_factor)·scaling_factor. The result is attached to the
     * manager of {@code images}.
     */
    public NDArray encode(NDArray images) {
        long[] s = images.getShape().getShape();
        int f = config.scaleFactor();
        if (s.length != 4 || s[1] != config.inChannels || s[2] % f != 0 || s[3] % f != 0
                || !Precision.typeOf(images).isFloatingPoint()) {
            throw new IllegalArgumentException("images must be floats [batch, " + config.inChannels
                    + ", height, width] with height and width multiples of " + f + ", got "
                    + Precision.typeOf(images) + Arrays.toString(s));
        }
        return Scopes.apply(images, in -> {
            NDArray x = conv(Precision.cast(in, dtype), encoder, "conv_in", 1);
            for (int i = 0; i < config.levels(); i++) {
                for (int j = 0; j < config.layersPerBlock; j++) {
                    String prefix = "down_blocks." + i + ".resnets." + j + ".";
                    x = Scopes.step(x, h -> resnet(prefix, h));
                }
                if (i < config.levels() - 1) {
                    String prefix = "down_blocks." + i + ".downsamplers.0.";
                    x = Scopes.step(x, h -> downsample(prefix, h));
                }
            }
            x = blocks.midBlock(encoder, x);
            x = Scopes.step(x, h -> blocks.out(encoder, h));
            if (config.useQuantConv) {
                x = Scopes.step(x, h -> conv(h, params, "quant_conv", 0));
            }
            NDArray mean = Precision.toFloat32(x.get(":, 0:" + config.latentChannels));
            return mean.sub(config.shiftFactor).mul(config.scalingFactor);
        });
    }

    /** The encoder's ResNet block at {@code prefix} (e.g. {@code down_blocks.1.resnets.0.}). */
    NDArray resnet(String prefix, NDArray x) {
        return blocks.resnet(encoder.scope(prefix), x);
    }

    /** Zero-pad right and bottom by one, then a 3×3 convolution of stride 2: [B, C, H, W] → [B, C, H/2, W/2]. */
    NDArray downsample(String prefix, NDArray x) {
        return Layers.conv2d(x.pad(DOWNSAMPLE_PAD, 0), encoder.scope(prefix), "conv", 0, 2);
    }

    /** The encoder's mid-block attention. */
    NDArray attention(NDArray x) {
        return blocks.attention(encoder.scope("mid_block.attentions.0."), x);
    }

    @Override
    public void close() {
        params.close();
    }
}
