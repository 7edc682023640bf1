package io.hicache.flux.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.WeightStore;
import io.hicache.flux.testing.Reference;
import java.io.IOException;

/**
 * Float64 reference of FLUX's AutoencoderKL (docs/models.md §5, diffusers' Encoder and
 * Decoder), reading weights with diffusers names from a checkpoint, rounded to {@code dtype} first.
 */
final class VaeReference {
    final WeightStore w;
    final VaeConfig c;
    final TensorType dtype;
    final NDManager m;

    VaeReference(WeightStore w, VaeConfig c, TensorType dtype, NDManager m) {
        this.w = w;
        this.c = c;
        this.dtype = dtype;
        this.m = m;
    }

    NDArray p(String name) throws IOException {
        return Reference.weight(w, name, dtype, m);
    }

    NDArray conv(NDArray x, String name, int padding) throws IOException {
        return conv(x, name, padding, 1);
    }

    NDArray conv(NDArray x, String name, int padding, int stride) throws IOException {
        return Conv2d.conv2d(x, p(name + ".weight"), p(name + ".bias"), new Shape(stride, stride),
                new Shape(padding, padding)).singletonOrThrow();
    }

    NDArray gn(NDArray x, String name) throws IOException {
        return Reference.groupNorm(x, c.normNumGroups, p(name + ".weight"), p(name + ".bias"), 1e-6);
    }

    NDArray resnet(String prefix, NDArray x) throws IOException {
        NDArray h = conv(Reference.silu(gn(x, prefix + "norm1")), prefix + "conv1", 1);
        h = conv(Reference.silu(gn(h, prefix + "norm2")), prefix + "conv2", 1);
        NDArray shortcut = w.contains(prefix + "conv_shortcut.weight") ? conv(x, prefix + "conv_shortcut", 0) : x;
        return shortcut.add(h);
    }

    NDArray attention(String prefix, NDArray x) throws IOException {
        Shape s = x.getShape();
        NDArray t = gn(x, prefix + "group_norm").reshape(s.get(0), s.get(1), -1).transpose(0, 2, 1);
        NDArray q = Reference.linear(t, p(prefix + "to_q.weight"), p(prefix + "to_q.bias"));
        NDArray k = Reference.linear(t, p(prefix + "to_k.weight"), p(prefix + "to_k.bias"));
        NDArray v = Reference.linear(t, p(prefix + "to_v.weight"), p(prefix + "to_v.bias"));
        NDArray o = Reference.linear(Reference.attention(q, k, v, null, 1 / Math.sqrt(s.get(1))),
                p(prefix + "to_out.0.weight"), p(prefix + "to_out.0.bias"));
        return x.add(o.transpose(0, 2, 1).reshape(s));
    }

    NDArray midBlock(String side, NDArray x) throws IOException {
        x = resnet(side + ".mid_block.resnets.0.", x);
        if (c.midBlockAddAttention) {
            x = attention(side + ".mid_block.attentions.0.", x);
        }
        return resnet(side + ".mid_block.resnets.1.", x);
    }

    NDArray upsample(String prefix, NDArray x) throws IOException {
        return conv(x.repeat(2, 2).repeat(3, 2), prefix + "conv", 1); // each pixel becomes a 2×2 square
    }

    /** A zero column appended on the right and a zero row at the bottom, then a 3×3 convolution of stride 2. */
    NDArray downsample(String prefix, NDArray x) throws IOException {
        Shape s = x.getShape();
        NDArray wider = x.concat(m.zeros(new Shape(s.get(0), s.get(1), s.get(2), 1), DataType.FLOAT64), 3);
        NDArray padded = wider.concat(m.zeros(new Shape(s.get(0), s.get(1), 1, s.get(3) + 1), DataType.FLOAT64), 2);
        return conv(padded, prefix + "conv", 0, 2);
    }

    NDArray decode(NDArray latents) throws IOException {
        NDArray z = latents.div(c.scalingFactor).add(c.shiftFactor);
        if (c.usePostQuantConv) {
            z = conv(z, "post_quant_conv", 0);
        }
        NDArray x = midBlock("decoder", conv(z, "decoder.conv_in", 1));
        for (int i = 0; i < c.levels(); i++) {
            for (int j = 0; j <= c.layersPerBlock; j++) {
                x = resnet("decoder.up_blocks." + i + ".resnets." + j + ".", x);
            }
            if (i < c.levels() - 1) {
                x = upsample("decoder.up_blocks." + i + ".upsamplers.0.", x);
            }
        }
        return conv(Reference.silu(gn(x, "decoder.conv_norm_out")), "decoder.conv_out", 1).clip(-1, 1);
    }

    /** The posterior's mean in the transformer's space: (mean − shift)·scale. */
    NDArray encode(NDArray images) throws IOException {
        NDArray x = conv(images, "encoder.conv_in", 1);
        for (int i = 0; i < c.levels(); i++) {
            for (int j = 0; j < c.layersPerBlock; j++) {
                x = resnet("encoder.down_blocks." + i + ".resnets." + j + ".", x);
            }
            if (i < c.levels() - 1) {
                x = downsample("encoder.down_blocks." + i + ".downsamplers.0.", x);
            }
        }
        x = midBlock("encoder", x);
        x = conv(Reference.silu(gn(x, "encoder.conv_norm_out")), "encoder.conv_out", 1);
        if (c.useQuantConv) {
            x = conv(x, "quant_conv", 0);
        }
        return x.get(":, 0:" + c.latentChannels).sub(c.shiftFactor).mul(c.scalingFactor);
    }
}
