package io.hicache.qwen.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.nn.Layers;
import io.hicache.core.nn.Parameters;
import io.hicache.core.nn.Scopes;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.LatentPacking;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The encoder of {@code AutoencoderKLQwenImage} for one frame (docs/model-architectures.md §3.8, §4.1):
 * RGB in [−1, 1] → the normalised latent mean, which Qwen-Image-Edit packs as its condition tokens.
 *
 * <p>conv_in (3×3, 3 → base_dim); per level num_res_blocks residual blocks (the first changes the
 * width), all levels but the last followed by a downsampler: zero padding of one column on the right
 * and one row at the bottom, then a 3×3 convolution of stride 2 ({@code resample.1}; its
 * {@code time_conv} does not run on the first frame); the mid block; RMS norm, SiLU, conv_out to
 * 2·z_dim channels; quant_conv (1×1). The posterior's mode is its mean, the first z_dim channels
 * (the pipeline's {@code sample_mode="argmax"}), normalised as (μ − mean_c) / std_c
 * ({@link LatentNormalization}). The blocks are those of {@link QwenVaeBlocks}, shared with the decoder.
 */
public final class QwenVaeEncoder implements AutoCloseable {
    /** Input channels: RGB. */
    public static final int IMAGE_CHANNELS = QwenVaeConfig.IMAGE_CHANNELS;
    /** diffusers' {@code nn.ZeroPad2d((0, 1, 0, 1))}: (left 0, right 1, top 0, bottom 1). */
    private static final Shape DOWNSAMPLE_PAD = new Shape(0, 1, 0, 1);

    private final QwenVaeConfig config;
    private final TensorType dtype;
    private final Parameters params;
    private final Parameters encoder;
    private final QwenVaeBlocks blocks;
    private final LatentNormalization normalization;

    private QwenVaeEncoder(QwenVaeConfig config, TensorType dtype, Parameters params) {
        this.config = config;
        this.dtype = dtype;
        this.params = params;
        this.encoder = params.scope("encoder.");
        this.blocks = new QwenVaeBlocks(Kernels.on(params.manager().getDevice()));
        this.normalization = new LatentNormalization(config);
    }

    /** Loads the encoder side of {@code vae/} (config.json and diffusion_pytorch_model.safetensors) or a model directory holding it. */
    public static QwenVaeEncoder load(Path path, TensorType dtype, NDManager manager) throws IOException {
        Path dir = QwenVaeLayout.vaeDirectory(path);
        QwenVaeConfig config = QwenVaeConfig.read(dir);
        try (WeightStore store = WeightStore.open(dir)) {
            return load(store, config, dtype, manager);
        }
    }

    /** Checks the encoder side of {@code vae/} from its config and the safetensors header alone; returns the config. */
    public static QwenVaeConfig check(Path dir) throws IOException {
        QwenVaeConfig config = QwenVaeConfig.read(dir);
        try (WeightStore store = WeightStore.open(dir)) {
            OneFrameWeights.encoder(store, config);
        }
        return config;
    }

    /**
     * Loads from a source with the stored names (decoder tensors may be present; they are not read).
     *
     * @throws io.hicache.core.weights.CheckpointMismatchException naming every missing or misshapen
     *     encoder tensor
     */
    public static QwenVaeEncoder load(WeightSource source, QwenVaeConfig config, TensorType dtype, NDManager manager)
            throws IOException {
        QwenVaeBlocks.requireComputeType(dtype);
        OneFrameWeights weights = OneFrameWeights.encoder(source, config);
        return new QwenVaeEncoder(config, dtype, Parameters.load(weights, weights.spec(), dtype, manager));
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
     * Images [B, 3, H, W] in [−1, 1] (any float dtype; H and W positive multiples of
     * {@link QwenVaeConfig#scaleFactor()} = 8) → float32 normalised latent means [B, z_dim, H/8, W/8],
     * attached to the manager of {@code images}. The range is not checked: values outside [−1, 1]
     * are encoded as they are.
     */
    public NDArray encode(NDArray images) {
        requireImages(images, config.scaleFactor(), "");
        return Scopes.apply(images, in -> {
            NDArray x = QwenVaeBlocks.conv(Precision.cast(in, dtype), encoder, "conv_in", 1);
            int block = 0;
            for (int i = 0; i < config.levels(); i++) {
                for (int r = 0; r < config.numResBlocks; r++) {
                    Parameters p = encoder.scope("down_blocks." + block++ + ".");
                    x = Scopes.step(x, h -> blocks.residual(p, h));
                }
                if (i != config.levels() - 1) {
                    Parameters p = encoder.scope("down_blocks." + block++ + ".resample.1");
                    x = Scopes.step(x, h -> downsample(h, p.get(".weight"), p.get(".bias")));
                }
            }
            x = blocks.midBlock(encoder, x);
            x = Scopes.step(x, h -> blocks.head(encoder, h));
            x = Scopes.step(x, h -> QwenVaeBlocks.conv(h, params, "quant_conv", 0));
            NDArray mean = Precision.toFloat32(x.get(":, 0:" + config.zDim));
            return normalization.normalize(mean);
        });
    }

    /**
     * The condition tokens of Qwen-Image-Edit: {@link #encode} packed 2×2 by {@link LatentPacking#pack},
     * [B, (H/16)·(W/16), 4·z_dim] in float32, token (r, c) of the H/16 × W/16 grid at r·(W/16) + c.
     * H and W must be multiples of 16 (the packing needs even latent sides).
     */
    public NDArray encodeTokens(NDArray images) {
        requireImages(images, 2 * config.scaleFactor(), " (2×2 packing of the 1/" + config.scaleFactor() + " latents)");
        return Scopes.apply(images, in -> LatentPacking.pack(encode(in)));
    }

    private void requireImages(NDArray images, int multiple, String why) {
        long[] s = images.getShape().getShape();
        TensorType type = Precision.typeOf(images);
        if (s.length != 4 || s[0] < 1 || s[1] != IMAGE_CHANNELS || s[2] < 1 || s[3] < 1 || s[2] % multiple != 0
                || s[3] % multiple != 0 || !type.isFloatingPoint()) {
            throw new IllegalArgumentException("images must be floats [batch, " + IMAGE_CHANNELS
                    + ", height, width] with height and width positive multiples of " + multiple + why + ", got "
                    + type + Arrays.toString(s));
        }
    }

    /**
     * diffusers' {@code downsample2d}/{@code downsample3d} on the first frame: zero-pad one column on
     * the right and one row at the bottom, then the 3×3 convolution of stride 2 (weight [C, C, 3, 3]):
     * output (i, j) reads input rows 2i … 2i + 2 and columns 2j … 2j + 2, so [B, C, H, W] →
     * [B, C, ⌊H/2⌋, ⌊W/2⌋].
     */
    static NDArray downsample(NDArray x, NDArray weight, NDArray bias) {
        return Layers.conv2d(x.pad(DOWNSAMPLE_PAD, 0), weight, bias, 0, 2);
    }

    @Override
    public void close() {
        params.close();
    }
}
