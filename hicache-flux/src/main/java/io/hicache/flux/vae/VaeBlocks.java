package io.hicache.flux.vae;

import ai.djl.ndarray.NDArray;
import io.hicache.core.nn.Layers;
import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.nn.Parameters;
import io.hicache.core.nn.Scopes;
import io.hicache.core.runtime.Kernels;

/**
 * The blocks the AutoencoderKL encoder and decoder share (diffusers' ResnetBlock2D, the mid block's
 * single-head attention, GroupNorm with eps 1e-6), each reading its weights from a parameter scope.
 */
final class VaeBlocks {
    static final double EPS = 1e-6;

    private final VaeConfig config;
    private final Kernels kernels;

    VaeBlocks(VaeConfig config, Kernels kernels) {
        this.config = config;
        this.kernels = kernels;
    }

    /** ResNet block: conv2(SiLU(GN2(conv1(SiLU(GN1(x)))))) plus x (through a 1×1 conv when channels change). */
    NDArray resnet(Parameters p, NDArray x) {
        NDArray h = conv(kernels.silu(norm(x, p, "norm1")), p, "conv1", 1);
        h = conv(kernels.silu(norm(h, p, "norm2")), p, "conv2", 1);
        NDArray shortcut = p.find("conv_shortcut.weight") == null ? x : conv(x, p, "conv_shortcut", 0);
        return shortcut.add(h);
    }

    /** Mid-block attention: one head over all h·w pixels, Linear q/k/v/out, scale 1/√C, residual. */
    NDArray attention(Parameters p, NDArray x) {
        long b = x.getShape().get(0);
        long c = x.getShape().get(1);
        long h = x.getShape().get(2);
        long w = x.getShape().get(3);
        NDArray t = norm(x, p, "group_norm").reshape(b, c, h * w).transpose(0, 2, 1);
        NDArray o = kernels.sdpa(heads(Layers.linear(t, p, "to_q")), heads(Layers.linear(t, p, "to_k")),
                heads(Layers.linear(t, p, "to_v")), 1 / Math.sqrt(c));
        return x.add(Layers.linear(o.reshape(b, h * w, c), p, "to_out.0").transpose(0, 2, 1).reshape(b, c, h, w));
    }

    /**
     * [B, L, C] → [B, 1, L, C]: an explicit head axis. libtorch's CPU flash kernel takes only 4-D
     * inputs and streams keys block by block, where 3-D inputs fall back to the math path that
     * materialises the (h·w)² scores (17 GB in fp32 for a 2048² image's 256² latent).
     */
    private static NDArray heads(NDArray t) {
        return t.expandDims(1);
    }

    /** The mid block of {@code side} ({@code encoder.} or {@code decoder.}): ResNet, attention if configured, ResNet. */
    NDArray midBlock(Parameters side, NDArray x) {
        x = Scopes.step(x, h -> resnet(side.scope("mid_block.resnets.0."), h));
        if (config.midBlockAddAttention) {
            x = Scopes.step(x, h -> attention(side.scope("mid_block.attentions.0."), h));
        }
        return Scopes.step(x, h -> resnet(side.scope("mid_block.resnets.1."), h));
    }

    /** The head of {@code side}: conv_out(SiLU(conv_norm_out(x))). */
    NDArray out(Parameters side, NDArray x) {
        return conv(kernels.silu(norm(x, side, "conv_norm_out")), side, "conv_out", 1);
    }

    NDArray norm(NDArray x, Parameters p, String name) {
        return kernels.groupNorm(x, config.normNumGroups, p.get(name + ".weight"), p.get(name + ".bias"), EPS);
    }

    static NDArray conv(NDArray x, Parameters p, String name, int padding) {
        return Layers.conv2d(x, p, name, padding);
    }

    static void resnetSpec(ParameterSpec s, String prefix, int in, int out) {
        s.norm(prefix + ".norm1", in, true)
                .conv2d(prefix + ".conv1", out, in, 3, true)
                .norm(prefix + ".norm2", out, true)
                .conv2d(prefix + ".conv2", out, out, 3, true);
        if (in != out) {
            s.conv2d(prefix + ".conv_shortcut", out, in, 1, true);
        }
    }

    /** The mid block of {@code side} ({@code "encoder"} or {@code "decoder"}) at {@code channels}. */
    static void midBlockSpec(ParameterSpec s, String side, int channels, boolean attention) {
        resnetSpec(s, side + ".mid_block.resnets.0", channels, channels);
        if (attention) {
            String a = side + ".mid_block.attentions.0.";
            s.norm(a + "group_norm", channels, true)
                    .linear(a + "to_q", channels, channels, true)
                    .linear(a + "to_k", channels, channels, true)
                    .linear(a + "to_v", channels, channels, true)
                    .linear(a + "to_out.0", channels, channels, true);
        }
        resnetSpec(s, side + ".mid_block.resnets.1", channels, channels);
    }
}
