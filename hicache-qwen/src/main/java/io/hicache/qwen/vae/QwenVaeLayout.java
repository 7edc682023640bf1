package io.hicache.qwen.vae;

import io.hicache.core.nn.ParameterSpec;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Every tensor of {@code vae/diffusion_pytorch_model.safetensors} with its stored name and shape
 * (docs/qwen-image.md §7; 194 tensors, 126,892,531 parameters for Qwen-Image). Causal 3-D convolutions
 * are stored [out, in, t, h, w]; the RMS norms' {@code gamma} [C, 1, 1, 1] (3-D blocks) or [C, 1, 1]
 * (the attention blocks); the resampling convolutions are plain 2-D, their {@code time_conv} 3-D.
 */
public final class QwenVaeLayout {
    private QwenVaeLayout() {}

    /** The whole checkpoint: encoder, quant_conv, post_quant_conv, decoder. */
    public static ParameterSpec stored(QwenVaeConfig c) {
        return decoderSide(encoderSide(c), c);
    }

    /**
     * The VAE folder of {@code path}: {@code path/vae} when it holds a config.json (a model directory),
     * else {@code path} itself when it does.
     *
     * @throws NoSuchFileException when neither holds a config.json
     */
    static Path vaeDirectory(Path path) throws NoSuchFileException {
        Path dir = Files.isRegularFile(path.resolve("vae").resolve("config.json")) ? path.resolve("vae") : path;
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new NoSuchFileException(dir.resolve("config.json").toString(), null,
                    "not a Qwen-Image VAE directory (expected vae/config.json; get the folder with "
                            + "`huggingface-cli download Qwen/Qwen-Image`)");
        }
        return dir;
    }

    /** What the encoder reads: encoder.* and quant_conv (time_conv included, as stored). */
    public static ParameterSpec encoderSide(QwenVaeConfig c) {
        ParameterSpec s = new ParameterSpec();
        encoder(s, c);
        return conv3d(s, "quant_conv", 2 * c.zDim, 2 * c.zDim, 1, 1);
    }

    /** What the decoder reads: post_quant_conv and decoder.* (time_conv included, as stored). */
    public static ParameterSpec decoderSide(QwenVaeConfig c) {
        return decoderSide(new ParameterSpec(), c);
    }

    private static ParameterSpec decoderSide(ParameterSpec s, QwenVaeConfig c) {
        conv3d(s, "post_quant_conv", c.zDim, c.zDim, 1, 1);
        int[] dims = c.decoderDims();
        int n = c.levels();
        conv3d(s, "decoder.conv_in", dims[0], c.zDim, 3, 3);
        midBlock(s, "decoder.mid_block", dims[0]);
        for (int i = 0; i < n; i++) {
            int in = i == 0 ? dims[0] : dims[i] / 2;
            int out = dims[i + 1];
            String p = "decoder.up_blocks." + i;
            for (int j = 0; j <= c.numResBlocks; j++) {
                residual(s, p + ".resnets." + j, j == 0 ? in : out, out);
            }
            if (i != n - 1) {
                s.conv2d(p + ".upsamplers.0.resample.1", out / 2, out, 3, true);
                if (c.temperalDownsample(n - 2 - i)) {
                    s.add(p + ".upsamplers.0.time_conv.weight", 2L * out, out, 3, 1, 1).add(
                            p + ".upsamplers.0.time_conv.bias", 2L * out);
                }
            }
        }
        s.add("decoder.norm_out.gamma", dims[n], 1, 1, 1);
        return conv3d(s, "decoder.conv_out", QwenVaeConfig.IMAGE_CHANNELS, dims[n], 3, 3);
    }

    private static void encoder(ParameterSpec s, QwenVaeConfig c) {
        int[] dims = c.encoderDims();
        int n = c.levels();
        conv3d(s, "encoder.conv_in", dims[0], QwenVaeConfig.IMAGE_CHANNELS, 3, 3);
        int block = 0;
        for (int i = 0; i < n; i++) {
            int in = dims[i];
            int out = dims[i + 1];
            for (int r = 0; r < c.numResBlocks; r++) {
                residual(s, "encoder.down_blocks." + block++, in, out);
                in = out;
            }
            if (i != n - 1) {
                String p = "encoder.down_blocks." + block++;
                s.conv2d(p + ".resample.1", out, out, 3, true);
                if (c.temperalDownsample(i)) {
                    s.add(p + ".time_conv.weight", out, out, 3, 1, 1).add(p + ".time_conv.bias", out);
                }
            }
        }
        int top = dims[n];
        midBlock(s, "encoder.mid_block", top);
        s.add("encoder.norm_out.gamma", top, 1, 1, 1);
        conv3d(s, "encoder.conv_out", 2 * c.zDim, top, 3, 3);
    }

    private static void midBlock(ParameterSpec s, String p, int dim) {
        residual(s, p + ".resnets.0", dim, dim);
        String a = p + ".attentions.0.";
        s.add(a + "norm.gamma", dim, 1, 1);
        s.conv2d(a + "to_qkv", 3L * dim, dim, 1, true);
        s.conv2d(a + "proj", dim, dim, 1, true);
        residual(s, p + ".resnets.1", dim, dim);
    }

    private static void residual(ParameterSpec s, String p, int in, int out) {
        s.add(p + ".norm1.gamma", in, 1, 1, 1);
        conv3d(s, p + ".conv1", out, in, 3, 3);
        s.add(p + ".norm2.gamma", out, 1, 1, 1);
        conv3d(s, p + ".conv2", out, out, 3, 3);
        if (in != out) {
            conv3d(s, p + ".conv_shortcut", out, in, 1, 1);
        }
    }

    /** A causal 3-D convolution with a kt × k × k kernel and bias. */
    private static ParameterSpec conv3d(ParameterSpec s, String p, long out, long in, long kt, long k) {
        return s.add(p + ".weight", out, in, kt, k, k).add(p + ".bias", out);
    }
}
