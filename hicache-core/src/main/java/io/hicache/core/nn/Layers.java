package io.hicache.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;

/** Small stateless building blocks over DJL ops shared by every model. */
public final class Layers {
    /**
     * libtorch 2.7.1's oneDNN bf16 convolution on AVX512-BF16 CPUs (Zen 4 measured) returns wrong
     * and run-to-run different values for kernels larger than 1×1 when the output channel count is
     * not a multiple of 16 (every count from 1 to 36 but 16 and 32 failed, for 3 to 128 input
     * channels): the blocked kernel reads its padded filter lanes uninitialised. Such filters are
     * padded with zero filters to the next multiple and the extra channels dropped, which is exact.
     */
    static final int BF16_CONV_CHANNEL_BLOCK = 16;

    private static final Shape ONE = new Shape(1, 1);

    private Layers() {}

    /** x·Wᵀ + b with W stored [out, in] (PyTorch layout); {@code b} may be null. */
    public static NDArray linear(NDArray x, NDArray w, NDArray b) {
        return Linear.linear(x, w, b).singletonOrThrow();
    }

    /** {@code linear(x, params[prefix.weight], params[prefix.bias] or none)}. */
    public static NDArray linear(NDArray x, Parameters p, String prefix) {
        return linear(x, p.get(prefix + ".weight"), p.find(prefix + ".bias"));
    }

    /** {@code conv2d(x, params[prefix.weight], params[prefix.bias] or none, padding)}. */
    public static NDArray conv2d(NDArray x, Parameters p, String prefix, int padding) {
        return conv2d(x, p, prefix, padding, 1);
    }

    /** {@code conv2d(x, params[prefix.weight], params[prefix.bias] or none, padding, stride)}. */
    public static NDArray conv2d(NDArray x, Parameters p, String prefix, int padding, int stride) {
        return conv2d(x, p.get(prefix + ".weight"), p.find(prefix + ".bias"), padding, stride);
    }

    /**
     * Stride-1 2-D convolution of x [B, in, H, W] with w [out, in, kh, kw] and symmetric zero
     * {@code padding}; {@code b} may be null. The result is attached to the manager of {@code x}.
     */
    public static NDArray conv2d(NDArray x, NDArray w, NDArray b, int padding) {
        return conv2d(x, w, b, padding, 1);
    }

    /** {@link #conv2d(NDArray, NDArray, NDArray, int)} with the same {@code stride} on both axes. */
    public static NDArray conv2d(NDArray x, NDArray w, NDArray b, int padding, int stride) {
        long[] ws = w.getShape().getShape();
        if (ws[2] == 1 && ws[3] == 1 && padding == 0 && stride == 1) {
            return pointwise(x, w, b);
        }
        Shape strides = new Shape(stride, stride);
        Shape pad = new Shape(padding, padding);
        long out = ws[0];
        long blocked = (out + BF16_CONV_CHANNEL_BLOCK - 1) / BF16_CONV_CHANNEL_BLOCK * BF16_CONV_CHANNEL_BLOCK;
        if (blocked == out || x.getDevice().isGpu() || Precision.typeOf(w) != TensorType.BF16) {
            return Conv2d.conv2d(x, w, b, strides, pad, ONE, 1).singletonOrThrow();
        }
        try (NDArray filterZeros = bf16Zeros(x, new Shape(blocked - out, ws[1], ws[2], ws[3]));
                NDArray filters = NDArrays.concat(new NDList(w, filterZeros), 0);
                NDArray biasZeros = bf16Zeros(x, new Shape(blocked - out));
                NDArray bias = b == null ? null : NDArrays.concat(new NDList(Precision.cast(b, TensorType.BF16), biasZeros), 0);
                NDArray full = Conv2d.conv2d(x, filters, bias, strides, pad, ONE, 1).singletonOrThrow();
                NDArray kept = full.get(":, 0:" + out)) {
            return kept.duplicate();
        }
    }

    private static NDArray bf16Zeros(NDArray like, Shape shape) {
        try (NDArray zeros = like.getManager().zeros(shape)) {
            return Precision.cast(zeros, TensorType.BF16);
        }
    }

    /**
     * A 1×1 convolution as one matrix product over the channels. oneDNN picks a 1×1 convolution
     * algorithm by thread count and the results differ in the last bits, so images would depend on
     * how many workers share the CPU; the product does not.
     */
    private static NDArray pointwise(NDArray x, NDArray w, NDArray b) {
        long[] s = x.getShape().getShape();
        long out = w.getShape().get(0);
        // views of the weights belong to the weights' manager: close them here so none pile up there
        NDArray y;
        try (NDArray matrix = w.reshape(out, s[1])) {
            y = matrix.matMul(x.reshape(s[0], s[1], s[2] * s[3]));
        }
        y.attach(x.getManager());
        if (b != null) {
            try (NDArray column = b.reshape(1, out, 1)) {
                y = y.add(column);
            }
        }
        return y.reshape(s[0], out, s[2], s[3]);
    }
}
