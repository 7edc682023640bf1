package io.hicache.flux.vae;

import static io.hicache.flux.vae.VaeBlocks.conv;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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
import io.hicache.flux.ModelFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The decoder half of FLUX's AutoencoderKL: latents → RGB in [−1, 1]. conv_in, a mid block (ResNet,
 * single-head self-attention over all pixels, ResNet), up blocks of layers_per_block + 1 ResNets with
 * nearest-2× + conv upsampling on all but the last, then GroupNorm, SiLU and conv_out. All norms are
 * GroupNorm with eps 1e-6. Each block runs in its own scope, so at most a block's intermediates are
 * alive at a time (at 1024² one activation is 128×1024×1024 values).
 */
public final class VaeDecoder implements AutoCloseable {
    private final VaeConfig config;
    private final TensorType dtype;
    private final Parameters params;
    private final Parameters decoder;
    private final Kernels kernels;
    private final VaeBlocks blocks;

    private VaeDecoder(VaeConfig config, TensorType dtype, Parameters params) {
        this.config = config;
        this.dtype = dtype;
        this.params = params;
        this.decoder = params.scope("decoder.");
        this.kernels = Kernels.on(params.manager().getDevice());
        this.blocks = new VaeBlocks(config, kernels);
    }

    /** Loads {@code vae/}: config.json plus diffusers' diffusion_pytorch_model.safetensors. */
    public static VaeDecoder load(Path dir, TensorType dtype, NDManager manager) throws IOException {
        VaeConfig config = VaeConfig.read(dir);
        try (WeightStore store = ModelFiles.openWeights(dir)) {
            return load(decoderSide(store), config, dtype, manager);
        }
    }

    /**
     * Loads the decoder from BFL's single-file {@code ae.safetensors} (LDM names, fp32), which holds
     * no config: pass {@link VaeConfig#flux1()} for FLUX.1.
     */
    public static VaeDecoder loadBfl(Path aeFile, VaeConfig config, TensorType dtype, NDManager manager)
            throws IOException {
        if (!Files.isRegularFile(aeFile)) {
            throw new NoSuchFileException(aeFile.toString(), null,
                    "missing BFL autoencoder: ae.safetensors is in the root of the FLUX.1 Hugging Face repository");
        }
        try (WeightStore store = WeightStore.open(aeFile)) {
            return load(BflVaeNames.decoderView(store, config), config, dtype, manager);
        }
    }

    /** Loads from a source with diffusers names ({@code decoder.*}, {@code post_quant_conv.*}). */
    public static VaeDecoder load(WeightSource source, VaeConfig config, TensorType dtype, NDManager manager)
            throws IOException {
        ModelFiles.requireComputeType(dtype);
        check(source, config);
        return new VaeDecoder(config, dtype, Parameters.load(source, spec(config), dtype, manager));
    }

    private static void check(WeightSource source, VaeConfig config) throws IOException {
        Checkpoints.requireBlocks(source, "decoder.up_blocks.", config.levels(),
                "block_out_channels (" + config.levels() + " levels)");
        Checkpoints.requireBlocks(source, "decoder.up_blocks.0.resnets.", config.layersPerBlock + 1,
                "layers_per_block = " + config.layersPerBlock);
        source.verify(spec(config).shapes());
    }

    /** Checks {@code vae/} (config and checkpoint headers) without loading any tensor. */
    public static VaeConfig check(Path dir) throws IOException {
        VaeConfig config = VaeConfig.read(dir);
        try (WeightStore store = ModelFiles.openWeights(dir)) {
            check(decoderSide(store), config);
        }
        return config;
    }

    /** Checks BFL's {@code ae.safetensors} (headers only) against {@code config}. */
    public static void checkBfl(Path aeFile, VaeConfig config) throws IOException {
        try (WeightStore store = WeightStore.open(aeFile)) {
            check(BflVaeNames.decoderView(store, config), config);
        }
    }

    /** The checkpoint without its encoder side ({@code encoder.*}, {@code quant_conv.*}), which T2I never runs. */
    static WeightSource decoderSide(WeightSource full) {
        RenamedWeightSource.Builder b = RenamedWeightSource.over(full);
        for (String n : full.names()) {
            if (!n.startsWith("encoder.") && !n.startsWith("quant_conv.")) {
                b.map(n, n);
            }
        }
        return b.build();
    }

    /** Every decoder parameter with its diffusers name and shape. */
    public static ParameterSpec spec(VaeConfig c) {
        int[] ch = c.blockOutChannels();
        int levels = ch.length;
        int top = ch[levels - 1];
        ParameterSpec s = new ParameterSpec();
        if (c.usePostQuantConv) {
            s.conv2d("post_quant_conv", c.latentChannels, c.latentChannels, 1, true);
        }
        s.conv2d("decoder.conv_in", top, c.latentChannels, 3, true);
        VaeBlocks.midBlockSpec(s, "decoder", top, c.midBlockAddAttention);
        int previous = top;
        for (int i = 0; i < levels; i++) {
            int out = ch[levels - 1 - i]; // up blocks run from the widest level down
            for (int j = 0; j <= c.layersPerBlock; j++) {
                VaeBlocks.resnetSpec(s, "decoder.up_blocks." + i + ".resnets." + j, j == 0 ? previous : out, out);
            }
            if (i < levels - 1) {
                s.conv2d("decoder.up_blocks." + i + ".upsamplers.0.conv", out, out, 3, true);
            }
            previous = out;
        }
        return s.norm("decoder.conv_norm_out", ch[0], true).conv2d("decoder.conv_out", c.outChannels, ch[0], 3, true);
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
     * Transformer-space latents [B, latent_channels, h, w] (any float dtype) → float32 images
     * [B, out_channels, h·s, w·s] clamped to [−1, 1], s = {@link VaeConfig#scaleFactor()}. The
     * latents are first mapped to the VAE's space, z = latents / scaling_factor + shift_factor, in
     * the compute dtype. The result is attached to the manager of {@code latents}.
     */
    public NDArray decode(NDArray latents) {
        long[] s = latents.getShape().getShape();
        if (s.length != 4 || s[1] != config.latentChannels || !Precision.typeOf(latents).isFloatingPoint()) {
            throw new IllegalArgumentException("latents must be floats [batch, " + config.latentChannels
                    + ", height, width], got " + Precision.typeOf(latents) + Arrays.toString(s));
        }
        return Scopes.apply(latents, in -> {
            NDArray z = Precision.cast(in, dtype).div(config.scalingFactor).add(config.shiftFactor);
            if (config.usePostQuantConv) {
                z = conv(z, params, "post_quant_conv", 0);
            }
            NDArray x = conv(z, decoder, "conv_in", 1);
            x = blocks.midBlock(decoder, x);
            for (int i = 0; i < config.levels(); i++) {
                for (int j = 0; j <= config.layersPerBlock; j++) {
                    String prefix = "up_blocks." + i + ".resnets." + j + ".";
                    x = Scopes.step(x, h -> resnet(prefix, h));
                }
                if (i < config.levels() - 1) {
                    String prefix = "up_blocks." + i + ".upsamplers.0.";
                    x = Scopes.step(x, h -> upsample(prefix, h));
                }
            }
            x = Scopes.step(x, h -> blocks.out(decoder, h));
            return Precision.toFloat32(x).clip(-1, 1);
        });
    }

    /** The decoder's ResNet block at {@code prefix} (e.g. {@code up_blocks.0.resnets.1.}). */
    NDArray resnet(String prefix, NDArray x) {
        return blocks.resnet(decoder.scope(prefix), x);
    }

    /** Nearest-neighbour 2× upsampling, then a 3×3 convolution. */
    NDArray upsample(String prefix, NDArray x) {
        return conv(kernels.upsampleNearest2x(x), decoder.scope(prefix), "conv", 1);
    }

    /** The decoder's mid-block attention. */
    NDArray attention(NDArray x) {
        return blocks.attention(decoder.scope("mid_block.attentions.0."), x);
    }

    @Override
    public void close() {
        params.close();
    }
}
