package io.hicache.qwen.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv3d;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * An independent float64 encode and decode of one frame written from diffusers' {@code AutoencoderKLQwenImage}
 * (docs/qwen-image.md §7, docs/model-architectures.md §3.8) with plain DJL ops on 5-D video tensors
 * [B, C, T, H, W]: every causal 3-D convolution runs as a real 3-D convolution on the zero-padded frame
 * axis (kt − 1 zero frames in front) with the stored kernels, RMS_norm is F.normalize over the
 * channels · √C · γ, the attention is softmax(q·kᵀ/√C)·v over the pixels, upsampling repeats each
 * pixel 2 × 2, and the encoder's stride-2 downsampling is written out as loops over doubles.
 */
final class Float64QwenVae {
    final QwenVaeConfig c;
    final WeightStore weights;
    final NDManager m;

    Float64QwenVae(QwenVaeConfig c, WeightStore weights, NDManager m) {
        this.c = c;
        this.weights = weights;
        this.m = m;
    }

    NDArray w(String name) {
        try {
            return weights.get(name, TensorType.F64, m);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** QwenImageCausalConv3d: zero-pad time by kt − 1 in front, space by (k − 1)/2, then convolve. */
    NDArray causalConv(NDArray x, String name) {
        NDArray weight = w(name + ".weight");
        long[] ws = weight.getShape().getShape();
        long[] xs = x.getShape().getShape();
        NDArray padded = x;
        if (ws[2] > 1) {
            padded = m.zeros(new Shape(xs[0], xs[1], ws[2] - 1, xs[3], xs[4]), DataType.FLOAT64).concat(x, 2);
        }
        long p = (ws[3] - 1) / 2;
        return Conv3d.conv3d(padded, weight, w(name + ".bias"), new Shape(1, 1, 1), new Shape(0, p, p),
                new Shape(1, 1, 1), 1).singletonOrThrow();
    }

    /** F.normalize(x, dim=1)·√C·γ, γ broadcast over the trailing axes. */
    static NDArray rmsNorm(NDArray x, NDArray gamma) {
        long ch = x.getShape().get(1);
        NDArray norm = x.square().sum(new int[] {1}, true).sqrt().maximum(1e-12);
        return x.div(norm).mul(Math.sqrt(ch)).mul(gamma);
    }

    static NDArray silu(NDArray x) {
        return x.div(x.neg().exp().add(1));
    }

    NDArray residual(NDArray x, String p) {
        NDArray h = causalConv(silu(rmsNorm(x, w(p + ".norm1.gamma"))), p + ".conv1");
        h = causalConv(silu(rmsNorm(h, w(p + ".norm2.gamma"))), p + ".conv2");
        NDArray shortcut = weights.contains(p + ".conv_shortcut.weight") ? causalConv(x, p + ".conv_shortcut") : x;
        return shortcut.add(h);
    }

    /** QwenImageAttentionBlock on a [B, C, 1, H, W] frame. */
    NDArray attention(NDArray x, String p) {
        long[] s = x.getShape().getShape();
        long ch = s[1];
        NDArray frame = x.reshape(s[0], ch, s[3], s[4]);
        NDArray t = rmsNorm(frame, w(p + ".norm.gamma"));
        NDArray qkvW = w(p + ".to_qkv.weight").reshape(3 * ch, ch);
        NDArray qkv = qkvW.matMul(t.reshape(s[0], ch, s[3] * s[4])).add(w(p + ".to_qkv.bias").reshape(1, 3 * ch, 1));
        NDArray q = qkv.get(new NDIndex(":, 0:" + ch)).transpose(0, 2, 1);
        NDArray k = qkv.get(new NDIndex(":, " + ch + ":" + 2 * ch)).transpose(0, 2, 1);
        NDArray v = qkv.get(new NDIndex(":, " + 2 * ch + ":")).transpose(0, 2, 1);
        NDArray scores = q.matMul(k.transpose(0, 2, 1)).div(Math.sqrt(ch));
        NDArray e = scores.sub(scores.max(new int[] {-1}, true)).exp();
        NDArray o = e.div(e.sum(new int[] {-1}, true)).matMul(v).transpose(0, 2, 1);
        NDArray proj = w(p + ".proj.weight").reshape(ch, ch).matMul(o).add(w(p + ".proj.bias").reshape(1, ch, 1));
        return x.add(proj.reshape(s));
    }

    /** Resample upsample2d/3d on the first frame: nearest ×2, then the 2-D 3×3 convolution (time_conv skipped). */
    NDArray upsample(NDArray x, String p) {
        long[] s = x.getShape().getShape();
        NDArray up = x.repeat(3, 2).repeat(4, 2);
        NDArray weight = w(p + ".resample.1.weight");
        long[] ws = weight.getShape().getShape();
        NDArray w3 = weight.reshape(ws[0], ws[1], 1, ws[2], ws[3]);
        NDArray y = Conv3d.conv3d(up, w3, w(p + ".resample.1.bias"), new Shape(1, 1, 1), new Shape(0, 1, 1),
                new Shape(1, 1, 1), 1).singletonOrThrow();
        return y;
    }

    /**
     * Resample downsample2d/3d on the first frame: {@code ZeroPad2d((0, 1, 0, 1))} then the 2-D 3×3
     * convolution of stride 2, as loops: out[o, i, j] = b[o] + Σ w[o, c, u, v]·x[c, 2i + u, 2j + v], a
     * read past the last row or column being the padding's zero (time_conv does not run on frame 0:
     * the feature cache is empty, so diffusers stores the frame and skips it).
     */
    NDArray downsample(NDArray x, String p) {
        long[] s = x.getShape().getShape();
        int batch = (int) s[0];
        int ch = (int) s[1];
        int h = (int) s[3];
        int wd = (int) s[4];
        double[] in = x.toDoubleArray();
        double[] k = w(p + ".resample.1.weight").toDoubleArray();
        double[] bias = w(p + ".resample.1.bias").toDoubleArray();
        int out = bias.length;
        int oh = (h + 1 - 3) / 2 + 1;
        int ow = (wd + 1 - 3) / 2 + 1;
        double[] y = new double[batch * out * oh * ow];
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double acc = bias[o];
                        for (int c = 0; c < ch; c++) {
                            for (int u = 0; u < 3; u++) {
                                for (int v = 0; v < 3; v++) {
                                    int r = 2 * i + u;
                                    int col = 2 * j + v;
                                    if (r < h && col < wd) {
                                        acc += k[((o * ch + c) * 3 + u) * 3 + v] * in[((b * ch + c) * h + r) * wd + col];
                                    }
                                }
                            }
                        }
                        y[((b * out + o) * oh + i) * ow + j] = acc;
                    }
                }
            }
        }
        return m.create(y, new Shape(batch, out, 1, oh, ow));
    }

    /**
     * Images [B, 3, H, W] → the posterior mean normalised as QwenImageEditPipeline does,
     * (μ − latents_mean) / latents_std, [B, z, H/8, W/8]. The encoder's down_blocks run in stored order,
     * each a residual block or a resampler by the tensors it has (the ModuleList of diffusers'
     * QwenImageEncoder3d), then the mid block, norm_out, SiLU, conv_out (2z channels), quant_conv; the
     * mean is the first z channels (DiagonalGaussianDistribution.mode()).
     */
    NDArray encode(NDArray images) {
        long[] s = images.getShape().getShape();
        NDArray x = images.toType(DataType.FLOAT64, true).reshape(s[0], s[1], 1, s[2], s[3]);
        x = causalConv(x, "encoder.conv_in");
        for (int k = 0;; k++) {
            String p = "encoder.down_blocks." + k;
            if (weights.contains(p + ".resample.1.weight")) {
                x = downsample(x, p);
            } else if (weights.contains(p + ".norm1.gamma")) {
                x = residual(x, p);
            } else {
                break;
            }
        }
        x = residual(x, "encoder.mid_block.resnets.0");
        x = attention(x, "encoder.mid_block.attentions.0");
        x = residual(x, "encoder.mid_block.resnets.1");
        x = causalConv(silu(rmsNorm(x, w("encoder.norm_out.gamma"))), "encoder.conv_out");
        x = causalConv(x, "quant_conv");
        long[] o = x.getShape().getShape();
        long z = o[1] / 2;
        NDArray mu = x.get(new NDIndex(":, 0:" + z)).reshape(o[0], z, o[3], o[4]);
        NDArray mean = m.create(c.latentsMean(), new Shape(1, z, 1, 1));
        NDArray std = m.create(c.latentsStd(), new Shape(1, z, 1, 1));
        return mu.sub(mean).div(std);
    }

    /** Normalised latents [B, z, h, w] → [B, 3, 8h, 8w] clamped to [−1, 1]. */
    NDArray decode(NDArray latents) {
        long[] s = latents.getShape().getShape();
        NDArray std = m.create(c.latentsStd(), new Shape(1, s[1], 1, 1));
        NDArray mean = m.create(c.latentsMean(), new Shape(1, s[1], 1, 1));
        NDArray z = latents.toType(DataType.FLOAT64, true).mul(std).add(mean).reshape(s[0], s[1], 1, s[2], s[3]);
        NDArray x = causalConv(z, "post_quant_conv");
        x = causalConv(x, "decoder.conv_in");
        x = residual(x, "decoder.mid_block.resnets.0");
        x = attention(x, "decoder.mid_block.attentions.0");
        x = residual(x, "decoder.mid_block.resnets.1");
        for (int i = 0; i < c.levels(); i++) {
            for (int j = 0; j <= c.numResBlocks; j++) {
                x = residual(x, "decoder.up_blocks." + i + ".resnets." + j);
            }
            if (i != c.levels() - 1) {
                x = upsample(x, "decoder.up_blocks." + i + ".upsamplers.0");
            }
        }
        x = causalConv(silu(rmsNorm(x, w("decoder.norm_out.gamma"))), "decoder.conv_out");
        long[] o = x.getShape().getShape();
        return x.reshape(o[0], o[1], o[3], o[4]).clip(-1, 1);
    }
}
