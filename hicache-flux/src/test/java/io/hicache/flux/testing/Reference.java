package io.hicache.flux.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.WeightSource;
import java.io.IOException;

/**
 * Independent float64 compositions of the layers the models use, from plain DJL arithmetic only
 * (no kernels, no fused ops), written from the equations in docs/models.md.
 */
public final class Reference {
    private Reference() {}

    /** The checkpoint tensor as the model sees it (rounded to {@code dtype}), widened to float64. */
    public static NDArray weight(WeightSource source, String name, TensorType dtype, NDManager m) throws IOException {
        return f64(source.get(name, dtype, m));
    }

    /** A float64 copy of any float tensor (bf16 widened through the kernels). */
    public static NDArray f64(NDArray x) {
        return Precision.toFloat32(x).toType(DataType.FLOAT64, true);
    }

    /** {@code x} rounded to {@code dtype} and back to float64: the exact input the model receives. */
    public static NDArray rounded(NDArray x, TensorType dtype) {
        return f64(Precision.cast(x, dtype));
    }

    /** x·Wᵀ (+ b). */
    public static NDArray linear(NDArray x, NDArray w, NDArray b) {
        NDArray y = x.matMul(w.transpose());
        return b == null ? y : y.add(b);
    }

    /** w · x / √(mean(x²) + eps) over the last axis (T5LayerNorm). */
    public static NDArray rmsNorm(NDArray x, NDArray w, double eps) {
        return x.div(x.square().mean(new int[] {-1}, true).add(eps).sqrt()).mul(w);
    }

    /** (x − μ)/√(σ² + eps)·w + b over the last axis. */
    public static NDArray layerNorm(NDArray x, NDArray w, NDArray b, double eps) {
        NDArray mean = x.mean(new int[] {-1}, true);
        NDArray var = x.sub(mean).square().mean(new int[] {-1}, true);
        return x.sub(mean).div(var.add(eps).sqrt()).mul(w).add(b);
    }

    /** GroupNorm of [N, C, H, W]: statistics over each group of C/groups channels and all pixels. */
    public static NDArray groupNorm(NDArray x, int groups, NDArray w, NDArray b, double eps) {
        Shape s = x.getShape();
        long c = s.get(1);
        NDArray g = x.reshape(s.get(0), groups, -1);
        NDArray mean = g.mean(new int[] {-1}, true);
        NDArray var = g.sub(mean).square().mean(new int[] {-1}, true);
        NDArray n = g.sub(mean).div(var.add(eps).sqrt()).reshape(s);
        return n.mul(w.reshape(1, c, 1, 1)).add(b.reshape(1, c, 1, 1));
    }

    public static NDArray sigmoid(NDArray x) {
        return x.neg().exp().add(1).pow(-1);
    }

    public static NDArray silu(NDArray x) {
        return x.mul(sigmoid(x));
    }

    public static NDArray quickGelu(NDArray x) {
        return x.mul(sigmoid(x.mul(1.702)));
    }

    public static NDArray geluErf(NDArray x) {
        return x.mul(0.5).mul(x.div(Math.sqrt(2)).erf().add(1));
    }

    /** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
    public static NDArray geluTanh(NDArray x) {
        NDArray inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
        return x.mul(0.5).mul(inner.tanh().add(1));
    }

    /** Softmax over the last axis, max-subtracted. */
    public static NDArray softmax(NDArray s) {
        NDArray e = s.sub(s.max(new int[] {-1}, true)).exp();
        return e.div(e.sum(new int[] {-1}, true));
    }

    /** softmax(q·kᵀ·scale + bias)·v; {@code bias} may be null. */
    public static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray bias, double scale) {
        int r = q.getShape().dimension();
        int[] axes = new int[r];
        for (int i = 0; i < r; i++) {
            axes[i] = i;
        }
        axes[r - 2] = r - 1;
        axes[r - 1] = r - 2;
        NDArray scores = q.matMul(k.transpose(axes)).mul(scale);
        if (bias != null) {
            scores = scores.add(bias);
        }
        return softmax(scores).matMul(v);
    }

    /** A [L, L] additive mask: 0 where key j ≤ query i, −∞ after. */
    public static NDArray causalMask(NDManager m, int length) {
        double[] mask = new double[length * length];
        for (int i = 0; i < length; i++) {
            for (int j = 0; j < length; j++) {
                mask[i * length + j] = j <= i ? 0 : Double.NEGATIVE_INFINITY;
            }
        }
        return m.create(mask, new Shape(length, length));
    }

    /** Rows {@code table[ids]} for ids [B, L] → [B, L, D]. */
    public static NDArray gather(NDArray table, long[][] ids) {
        NDManager m = table.getManager();
        int b = ids.length;
        int l = ids[0].length;
        long d = table.getShape().get(1);
        double[] all = table.toDoubleArray();
        double[] out = new double[(int) (b * l * d)];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < l; j++) {
                System.arraycopy(all, (int) (ids[i][j] * d), out, (int) ((i * l + j) * d), (int) d);
            }
        }
        return m.create(out, new Shape(b, l, d));
    }
}
