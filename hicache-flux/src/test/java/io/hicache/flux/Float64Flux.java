package io.hicache.flux;

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
 * An independent float64 FLUX forward written from docs/models.md §1–§2.6 with plain DJL
 * ops only (no kernels, no code of the model under test): LayerNorm, RMSNorm, SiLU, tanh-GELU,
 * softmax attention and interleaved RoPE are composed here from their formulas, weights are read
 * straight from the safetensors files in float64.
 */
final class Float64Flux {
    static final double EPS = 1e-6;

    final FluxConfig c;
    final WeightStore weights;
    final NDManager m;
    final int d;
    final int heads;
    final int dh;

    Float64Flux(FluxConfig c, WeightStore weights, NDManager m) {
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

    /** Chunk k of n of a [B, n·d] modulation vector. */
    NDArray chunk(NDArray e, int k) {
        return e.get(new NDIndex(":, " + (k * d) + ":" + ((k + 1) * d)));
    }

    /** [cos(s·f_k) …, sin(s·f_k) …] with f_k = 10000^(−k/128), 256 channels, s = 1000·t. */
    NDArray timestepFeatures(double t) {
        double[] v = new double[256];
        for (int k = 0; k < 128; k++) {
            double f = Math.pow(10000, -k / 128.0);
            v[k] = Math.cos(1000 * t * f);
            v[128 + k] = Math.sin(1000 * t * f);
        }
        return m.create(v, new Shape(1, 256));
    }

    NDArray mlpEmbedder(NDArray x, String prefix) {
        return linear(silu(linear(x, prefix + ".linear_1")), prefix + ".linear_2");
    }

    /** temb for one sample. */
    NDArray temb(double t, double guidance, NDArray pooled) {
        NDArray e = mlpEmbedder(timestepFeatures(t), "time_text_embed.timestep_embedder");
        if (c.guidanceEmbeds()) {
            e = e.add(mlpEmbedder(timestepFeatures(guidance), "time_text_embed.guidance_embedder"));
        }
        return e.add(mlpEmbedder(pooled, "time_text_embed.text_embedder"));
    }

    /**
     * RoPE angles [S, dh/2] of the joint sequence: textTokens tokens at (0, 0, 0), then the image
     * tokens of a (rows × cols) packed grid at (0, r, c), token r·cols + c.
     */
    NDArray angles(int textTokens, int rows, int cols) {
        int[] axes = c.axesDimsRope();
        int half = dh / 2;
        int s = textTokens + rows * cols;
        double[] a = new double[s * half];
        for (int t = textTokens; t < s; t++) {
            int img = t - textTokens;
            double[] pos = {0, img / cols, img % cols};
            int j = 0;
            for (int axis = 0; axis < 3; axis++) {
                for (int k = 0; k < axes[axis] / 2; k++) {
                    a[t * half + j++] = pos[axis] * Math.pow(10000, -2.0 * k / axes[axis]);
                }
            }
        }
        return m.create(a, new Shape(s, half));
    }

    /** Rotates pairs (2j, 2j+1) of x [B, H, S, dh] by angles [S, dh/2]. */
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

    /** [B, S, d] → [B, H, S, dh]. */
    NDArray heads(NDArray x) {
        Shape s = x.getShape();
        return x.reshape(s.get(0), s.get(1), heads, dh).transpose(0, 2, 1, 3);
    }

    NDArray attention(NDArray q, NDArray k, NDArray v) {
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).div(Math.sqrt(dh));
        NDArray e = scores.sub(scores.max(new int[] {-1}, true)).exp();
        NDArray o = e.div(e.sum(new int[] {-1}, true)).matMul(v);
        Shape s = o.getShape();
        return o.transpose(0, 2, 1, 3).reshape(s.get(0), s.get(2), d);
    }

    /** Double block i (docs/models.md §2.5); returns {img, txt}. */
    NDArray[] doubleBlock(int i, NDArray img, NDArray txt, NDArray temb, NDArray angles) {
        String p = "transformer_blocks." + i + ".";
        NDArray e = linear(silu(temb), p + "norm1.linear");
        NDArray ec = linear(silu(temb), p + "norm1_context.linear");
        NDArray x = modulate(img, chunk(e, 0), chunk(e, 1));
        NDArray y = modulate(txt, chunk(ec, 0), chunk(ec, 1));
        NDArray qi = rmsNorm(heads(linear(x, p + "attn.to_q")), w(p + "attn.norm_q.weight"));
        NDArray ki = rmsNorm(heads(linear(x, p + "attn.to_k")), w(p + "attn.norm_k.weight"));
        NDArray vi = heads(linear(x, p + "attn.to_v"));
        NDArray qt = rmsNorm(heads(linear(y, p + "attn.add_q_proj")), w(p + "attn.norm_added_q.weight"));
        NDArray kt = rmsNorm(heads(linear(y, p + "attn.add_k_proj")), w(p + "attn.norm_added_k.weight"));
        NDArray vt = heads(linear(y, p + "attn.add_v_proj"));
        NDArray o = attention(rope(qt.concat(qi, 2), angles), rope(kt.concat(ki, 2), angles), vt.concat(vi, 2));
        long l = txt.getShape().get(1);
        NDArray ot = o.get(new NDIndex(":, :" + l));
        NDArray oi = o.get(new NDIndex(":, " + l + ":"));
        NDArray img1 = img.add(chunk(e, 2).expandDims(1).mul(linear(oi, p + "attn.to_out.0")));
        NDArray ff = linear(geluTanh(linear(modulate(img1, chunk(e, 3), chunk(e, 4)), p + "ff.net.0.proj")), p + "ff.net.2");
        NDArray img2 = img1.add(chunk(e, 5).expandDims(1).mul(ff));
        NDArray txt1 = txt.add(chunk(ec, 2).expandDims(1).mul(linear(ot, p + "attn.to_add_out")));
        NDArray ffc = linear(geluTanh(linear(modulate(txt1, chunk(ec, 3), chunk(ec, 4)), p + "ff_context.net.0.proj")),
                p + "ff_context.net.2");
        NDArray txt2 = txt1.add(chunk(ec, 5).expandDims(1).mul(ffc));
        return new NDArray[] {img2, txt2};
    }

    /** Single block j (docs/models.md §2.6) on z = [text; image]. */
    NDArray singleBlock(int j, NDArray z, NDArray temb, NDArray angles) {
        String p = "single_transformer_blocks." + j + ".";
        NDArray e = linear(silu(temb), p + "norm.linear");
        NDArray x = modulate(z, chunk(e, 0), chunk(e, 1));
        NDArray mlp = geluTanh(linear(x, p + "proj_mlp"));
        NDArray q = rmsNorm(heads(linear(x, p + "attn.to_q")), w(p + "attn.norm_q.weight"));
        NDArray k = rmsNorm(heads(linear(x, p + "attn.to_k")), w(p + "attn.norm_k.weight"));
        NDArray v = heads(linear(x, p + "attn.to_v"));
        NDArray o = attention(rope(q, angles), rope(k, angles), v);
        NDArray total = linear(o.concat(mlp, 2), p + "proj_out");
        return z.add(chunk(e, 2).expandDims(1).mul(total));
    }

    /** AdaLayerNormContinuous, (scale, shift) = rows (0:d, d:2d) of norm_out.linear, then proj_out. */
    NDArray finalLayer(NDArray img, NDArray temb) {
        NDArray e = linear(silu(temb), "norm_out.linear");
        return linear(modulate(img, chunk(e, 1), chunk(e, 0)), "proj_out");
    }

    /** The whole forward (docs/models.md §2.4) for one sample on a rows × cols packed grid. */
    NDArray forward(NDArray packed, NDArray prompt, NDArray pooled, double t, double guidance, int rows, int cols) {
        NDArray temb = temb(t, guidance, pooled);
        NDArray angles = angles((int) prompt.getShape().get(1), rows, cols);
        NDArray img = linear(packed, "x_embedder");
        NDArray txt = linear(prompt, "context_embedder");
        for (int i = 0; i < c.numLayers(); i++) {
            NDArray[] out = doubleBlock(i, img, txt, temb, angles);
            img = out[0];
            txt = out[1];
        }
        NDArray z = txt.concat(img, 1);
        for (int j = 0; j < c.numSingleLayers(); j++) {
            z = singleBlock(j, z, temb, angles);
        }
        return finalLayer(z.get(new NDIndex(":, " + prompt.getShape().get(1) + ":")), temb);
    }
}
