package io.hicache.qwen.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicache.core.nn.Parameters;
import io.hicache.core.nn.Scopes;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The decoder of {@code AutoencoderKLQwenImage} for one frame (docs/qwen-image.md §7): normalised
 * latents → RGB in [−1, 1]. The latents are first de-normalised per channel ({@link LatentNormalization});
 * then post_quant_conv (1×1), conv_in, the mid block (residual, single-head attention over all pixels,
 * residual), the up blocks (num_res_blocks + 1 residual blocks each, all but the last ending in
 * nearest ×2 upsampling and a 3×3 convolution that halves the channels), RMS norm, SiLU, conv_out and
 * the clamp. The blocks are those of {@link QwenVaeBlocks}, shared with {@link QwenVaeEncoder}; each
 * runs in its own scope.
 */
public final class QwenVaeDecoder implements AutoCloseable {
    private final QwenVaeConfig config;
    private final TensorType dtype;
    private final Parameters params;
    private final Parameters decoder;
    private final QwenVaeBlocks blocks;
    private final LatentNormalization normalization;

    private QwenVaeDecoder(QwenVaeConfig config, TensorType dtype, Parameters params) {
        this.config = config;
        this.dtype = dtype;
        this.params = params;
        this.decoder = params.scope("decoder.");
        this.blocks = new QwenVaeBlocks(Kernels.on(params.manager().getDevice()));
        this.normalization = new LatentNormalization(config);
    }

    /** Loads {@code vae/} (config.json and diffusion_pytorch_model.safetensors) or a model directory holding it. */
    public static QwenVaeDecoder load(Path path, TensorType dtype, NDManager manager) throws IOException {
        Path dir = QwenVaeLayout.vaeDirectory(path);
        QwenVaeConfig config = QwenVaeConfig.read(dir);
        try (WeightStore store = WeightStore.open(dir)) {
            return load(store, config, dtype, manager);
        }
    }

    /** Checks {@code vae/} from its config and the safetensors header alone; returns the config. */
    public static QwenVaeConfig check(Path dir) throws IOException {
        QwenVaeConfig config = QwenVaeConfig.read(dir);
        try (WeightStore store = WeightStore.open(dir)) {
            OneFrameWeights.decoder(store, config);
        }
        return config;
    }

    /** Loads from a source with the stored names (encoder tensors may be present; they are not read). */
    public static QwenVaeDecoder load(WeightSource source, QwenVaeConfig config, TensorType dtype, NDManager manager)
            throws IOException {
        QwenVaeBlocks.requireComputeType(dtype);
        OneFrameWeights weights = OneFrameWeights.decoder(source, config);
        return new QwenVaeDecoder(config, dtype, Parameters.load(weights, weights.spec(), dtype, manager));
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
            NDArray z = Precision.cast(normalization.denormalize(in), dtype);
            z = QwenVaeBlocks.conv(z, params, "post_quant_conv", 0);
            NDArray x = QwenVaeBlocks.conv(z, decoder, "conv_in", 1);
            x = blocks.midBlock(decoder, x);
            for (int i = 0; i < config.levels(); i++) {
                for (int j = 0; j <= config.numResBlocks; j++) {
                    Parameters p = decoder.scope("up_blocks." + i + ".resnets." + j + ".");
                    x = Scopes.step(x, h -> blocks.residual(p, h));
                }
                if (i != config.levels() - 1) {
                    Parameters p = decoder.scope("up_blocks." + i + ".upsamplers.0.resample.1");
                    x = Scopes.step(x, h -> blocks.upsample(p, h));
                }
            }
            x = Scopes.step(x, h -> blocks.head(decoder, h));
            return Precision.toFloat32(x).clip(-1, 1);
        });
    }

    @Override
    public void close() {
        params.close();
    }
}
