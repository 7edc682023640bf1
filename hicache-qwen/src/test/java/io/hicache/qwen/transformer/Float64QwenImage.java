package io.hicache.qwen.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * An independent float64 Qwen-Image forward written from docs/models.md §1 and docs/qwen-image.md §3–§5 with plain DJL
 * ops only (no kernels, no code of the model under test): LayerNorm, RMSNorm, SiLU, tanh-GELU, masked
 * softmax attention, interleaved RoPE and the MSRoPE positions are composed here from their formulas;
 * weights are read straight from the sharded safetensors in float64.
 */
final class Float64QwenImage {
    static final double EPS = 1e-6;

    final QwenImageConfig c;
    final WeightStore weights;
    final NDManager m;
    final int d;
    final int heads;
    final int dh;

    Float64QwenImage(QwenImageConfig c, WeightStore weights, NDManager m) {
        this.c = c;
        this.weights = weights;
        this.m = m;
        this.d = c.hiddenSize();
        this.heads = c.numAttentionHeads();
        this.dh = c.attentionHeadDim();
    }

    NDArray w(String name) {
        try {
            return weights.get(name, TensorType.F64, m);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static NDArray f64(NDArray x) {
        return x.toType(DataType.FLOAT64, true);
    }

    NDArray linear(NDArray x, String name) {
        return x.matMul(w(name + ".weight").transpose()).add(w(name + ".bias"));
    }

    static NDArray layerNorm(NDArray x) {
        NDArray mean = x.mean(new int[] {-1}, true);
        NDArray var = x.sub(mean).square().mean(new int[] {-1}, true);
        return x.sub(mean).div(var.add(EPS).sqrt());
    }

    static NDArray rmsNorm(NDArray x, NDArray weight) {
        return x.div(x.square().mean(new int[] {-1}, true).add(EPS).sqrt()).mul(weight);
    }

    static NDArray silu(NDArray x) {
        return x.div(x.neg().exp().add(1));
    }

    static NDArray geluTanh(NDArray x) {
        NDArray inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
        return x.mul(0.5).mul(inner.tanh().add(1));
    }

    /** LN(x)·(1 + scale) + shift with [B, d] modulation broadcast over tokens. */
    static NDArray modulate(NDArray x, NDArray shift, NDArray scale) {
        return layerNorm(x).mul(scale.expandDims(1).add(1)).add(shift.expandDims(1));
    }

    /** Chunk k of a [B, n·d] modulation vector. */
    NDArray chunk(NDArray e, int k) {
        return e.get(new NDIndex(":, " + (k * d) + ":" + ((k + 1) * d)));
    }

    /** temb = linear_2(SiLU(linear_1([cos(1000t·f_k) …, sin(1000t·f_k) …]))), f_k = 10000^(−k/128). */
    NDArray temb(double t) {
        double[] v = new double[256];
        for (int k = 0; k < 128; k++) {
            double f = Math.pow(10000, -k / 128.0);
            v[k] = Math.cos(1000 * t * f);
            v[128 + k] = Math.sin(1000 * t * f);
        }
        NDArray phi = m.create(v, new Shape(1, 256));
        String p = "time_text_embed.timestep_embedder";
        return linear(silu(linear(phi, p + ".linear_1")), p + ".linear_2");
    }

    /**
     * RoPE angles [L + N, dh/2] of [text; image] for a rows × cols grid: image token (r, c) at
     * (0, r − ⌈rows/2⌉, c − ⌈cols/2⌉), text token j at max(⌊rows/2⌋, ⌊cols/2⌋) + j on all axes.
     */
    NDArray angles(int textTokens, int rows, int cols) {
        int[] axes = c.axesDimsRope();
        int half = dh / 2;
        int s = textTokens + rows * cols;
        double[] a = new double[s * half];
        int start = Math.max(rows / 2, cols / 2);
        for (int t = 0; t < s; t++) {
            double[] pos;
            if (t < textTokens) {
                pos = new double[] {start + t, start + t, start + t};
            } else {
                int img = t - textTokens;
                pos = new double[] {0, img / cols - Math.ceil(rows / 2.0), img % cols - Math.ceil(cols / 2.0)};
            }
            int j = 0;
            for (int axis = 0; axis < 3; axis++) {
                for (int k = 0; k < axes[axis] / 2; k++) {
                    a[t * half + j++] = pos[axis] * Math.pow(10000, -2.0 * k / axes[axis]);
                }
            }
        }
        return m.create(a, new Shape(s, half));
    }

    /** Rotates pairs (2j, 2j+1) of x [B, H, S, dh] by angles [S, dh/2] (complex multiplication). */
    NDArray rope(NDArray x, NDArray angles) {
        Shape s = x.getShape();
        NDArray pairs = x.reshape(s.get(0), s.get(1), s.get(2), dh / 2, 2);
        NDArray x0 = pairs.get(new NDIndex("..., 0"));
        NDArray x1 = pairs.get(new NDIndex("..., 1"));
        NDArray cos = angles.cos();
        NDArray sin = angles.sin();
        NDArray r0 = x0.mul(cos).sub(x1.mul(sin));
        NDArray r1 = x0.mul(sin).add(x1.mul(cos));
        return r0.expandDims(-1).concat(r1.expandDims(-1), -1).reshape(s);
    }

    NDArray heads(NDArray x) {
        Shape s = x.getShape();
        return x.reshape(s.get(0), s.get(1), heads, dh).transpose(0, 2, 1, 3);
    }

    /** Softmax attention; {@code keep} [B, S] (1 = key visible, 0 = hidden) or null. */
    NDArray attention(NDArray q, NDArray k, NDArray v, double[] keep) {
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).div(Math.sqrt(dh));
        if (keep != null) {
            double[] bias = new double[keep.length];
            for (int i = 0; i < keep.length; i++) {
                bias[i] = keep[i] == 0 ? -1e300 : 0;
            }
            long b = q.getShape().get(0);
            scores = scores.add(m.create(bias, new Shape(b, 1, 1, keep.length / b)));
        }
        NDArray e = scores.sub(scores.max(new int[] {-1}, true)).exp();
        NDArray o = e.div(e.sum(new int[] {-1}, true)).matMul(v);
        Shape s = o.getShape();
        return o.transpose(0, 2, 1, 3).reshape(s.get(0), s.get(2), d);
    }

    /** Block i (docs/qwen-image.md §5); returns {img, txt}. */
    NDArray[] block(int i, NDArray img, NDArray txt, NDArray temb, NDArray angles, double[] keep) {
        String p = "transformer_blocks." + i + ".";
        NDArray e = linear(silu(temb), p + "img_mod.1");
        NDArray ec = linear(silu(temb), p + "txt_mod.1");
        NDArray x = modulate(img, chunk(e, 0), chunk(e, 1));
        NDArray y = modulate(txt, chunk(ec, 0), chunk(ec, 1));
        NDArray qi = rmsNorm(heads(linear(x, p + "attn.to_q")), w(p + "attn.norm_q.weight"));
        NDArray ki = rmsNorm(heads(linear(x, p + "attn.to_k")), w(p + "attn.norm_k.weight"));
        NDArray vi = heads(linear(x, p + "attn.to_v"));
        NDArray qt = rmsNorm(heads(linear(y, p + "attn.add_q_proj")), w(p + "attn.norm_added_q.weight"));
        NDArray kt = rmsNorm(heads(linear(y, p + "attn.add_k_proj")), w(p + "attn.norm_added_k.weight"));
        NDArray vt = heads(linear(y, p + "attn.add_v_proj"));
        NDArray o = attention(rope(qt.concat(qi, 2), angles), rope(kt.concat(ki, 2), angles), vt.concat(vi, 2), keep);
        long l = txt.getShape().get(1);
        NDArray ot = o.get(new NDIndex(":, :" + l));
        NDArray oi = o.get(new NDIndex(":, " + l + ":"));
        NDArray img1 = img.add(chunk(e, 2).expandDims(1).mul(linear(oi, p + "attn.to_out.0")));
        NDArray txt1 = txt.add(chunk(ec, 2).expandDims(1).mul(linear(ot, p + "attn.to_add_out")));
        NDArray ff = linear(geluTanh(linear(modulate(img1, chunk(e, 3), chunk(e, 4)), p + "img_mlp.net.0.proj")),
                p + "img_mlp.net.2");
        NDArray img2 = img1.add(chunk(e, 5).expandDims(1).mul(ff));
        NDArray ffc = linear(geluTanh(linear(modulate(txt1, chunk(ec, 3), chunk(ec, 4)), p + "txt_mlp.net.0.proj")),
                p + "txt_mlp.net.2");
        NDArray txt2 = txt1.add(chunk(ec, 5).expandDims(1).mul(ffc));
        return new NDArray[] {img2, txt2};
    }

    /** The whole forward for one sample on a rows × cols packed grid; {@code textKeep} [L] or null. */
    NDArray forward(NDArray packed, NDArray prompt, double t, int rows, int cols, double[] textKeep) {
        int l = (int) prompt.getShape().get(1);
        double[] keep = null;
        if (textKeep != null) {
            keep = new double[l + rows * cols];
            java.util.Arrays.fill(keep, 1);
            System.arraycopy(textKeep, 0, keep, 0, l);
        }
        NDArray temb = temb(t);
        NDArray angles = angles(l, rows, cols);
        NDArray img = linear(packed, "img_in");
        NDArray txt = linear(rmsNorm(prompt, w("txt_norm.weight")), "txt_in");
        for (int i = 0; i < c.numLayers(); i++) {
            NDArray[] out = block(i, img, txt, temb, angles, keep);
            img = out[0];
            txt = out[1];
        }
        // AdaLayerNormContinuous: rows 0:d of norm_out.linear are the scale, d:2d the shift
        NDArray e = linear(silu(temb), "norm_out.linear");
        return linear(modulate(img, chunk(e, 1), chunk(e, 0)), "proj_out");
    }
}
