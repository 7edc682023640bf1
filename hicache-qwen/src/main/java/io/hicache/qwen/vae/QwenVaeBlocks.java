package io.hicache.qwen.vae;

import ai.djl.ndarray.NDArray;
import io.hicache.core.nn.Layers;
import io.hicache.core.nn.Parameters;
import io.hicache.core.nn.Scopes;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;

/**
 * The blocks the one-frame encoder and decoder have in common (docs/qwen-image.md §7): the channel RMS
 * norm, the residual block, the single-head attention, the mid block built from them and the output
 * head. Every causal 3-D convolution runs as the 2-D convolution with its last temporal tap
 * ({@link OneFrameWeights} explains why that is exact), through {@link Layers#conv2d}.
 *
 * <p>Residual block: shortcut(x) + conv2(SiLU(RMS2(conv1(SiLU(RMS1(x)))))), the shortcut a 1×1
 * convolution iff the width changes. RMS norm ({@code QwenImageRMS_norm}): x / max(‖x‖₂, 1e-12) · √C · γ
 * with the L2 norm over the channels of each pixel, reduced in fp32.
 */
final class QwenVaeBlocks {
    static final double NORM_FLOOR = 1e-12;

    private final Kernels kernels;

    QwenVaeBlocks(Kernels kernels) {
        this.kernels = kernels;
    }

    /** The VAE computes in float32 or bfloat16 (the checkpoint's type); anything else is refused. */
    static void requireComputeType(TensorType dtype) {
        if (dtype != TensorType.F32 && dtype != TensorType.BF16) {
            throw new IllegalArgumentException("the VAE computes in float32 or bfloat16, not " + dtype.displayName());
        }
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

    /**
     * {@code mid_block}: residual, attention, residual, each block in its own scope. {@code x} is
     * closed once the first block's output exists (see {@link Scopes#step}).
     */
    NDArray midBlock(Parameters side, NDArray x) {
        NDArray y = Scopes.step(x, h -> residual(side.scope("mid_block.resnets.0."), h));
        y = Scopes.step(y, h -> attention(side.scope("mid_block.attentions.0."), h));
        return Scopes.step(y, h -> residual(side.scope("mid_block.resnets.1."), h));
    }

    /** The output head of either side: RMS norm ({@code norm_out}), SiLU, the 3×3 {@code conv_out}. */
    NDArray head(Parameters side, NDArray x) {
        return conv(kernels.silu(rmsNorm(x, side.get("norm_out.gamma"))), side, "conv_out", 1);
    }

    /** Nearest ×2 (diffusers' nearest-exact, the same at an exact factor 2), then the 3×3 convolution. */
    NDArray upsample(Parameters resample, NDArray x) {
        return Layers.conv2d(kernels.upsampleNearest2x(x), resample.get(".weight"), resample.get(".bias"), 1);
    }

    static NDArray conv(NDArray x, Parameters p, String name, int padding) {
        return Layers.conv2d(x, p, name, padding);
    }
}
