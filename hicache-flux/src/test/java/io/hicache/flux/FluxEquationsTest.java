package io.hicache.flux;

import io.hicache.core.cache.SiteKey;
import io.hicache.core.cache.CacheSession;
import io.hicache.core.pipeline.HostTensor;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.runtime.TensorType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chunk orders checked by hand on crafted weights. Modulation linears get zero weights and biases
 * holding a distinct constant per chunk, q and k projections are zero (so attention is uniform over
 * the sequence), v, the output projections and the MLPs are identities. With one text and one image
 * token every output is then a short formula of LayerNorms and GELUs of the inputs, evaluated here in
 * double precision; swapping any two chunks changes the result.
 */
class FluxEquationsTest {
    static final int D = 32;
    static final double TOL = 2e-5;

    @TempDir
    static Path dir;

    static NDManager m;
    static FluxTransformer model;

    @BeforeAll
    static void load() throws IOException {
        FluxConfig c = TinyFlux.config();
        Map<String, HostTensor> w = TinyFlux.randomWeights(c, 3);
        String b = "transformer_blocks.0.";
        w.put(b + "norm1.linear.weight", zeros(6 * D, D));
        w.put(b + "norm1.linear.bias", chunks(0.1, 0.2, 0.3, 0.4, 0.5, 0.6));
        w.put(b + "norm1_context.linear.weight", zeros(6 * D, D));
        w.put(b + "norm1_context.linear.bias", chunks(0.7, -0.3, 0.25, -0.2, 0.6, 0.45));
        for (String zero : new String[] {"attn.to_q", "attn.to_k", "attn.add_q_proj", "attn.add_k_proj"}) {
            w.put(b + zero + ".weight", zeros(D, D));
            w.put(b + zero + ".bias", zeros(D));
        }
        for (String id : new String[] {"attn.to_v", "attn.add_v_proj", "attn.to_out.0", "attn.to_add_out"}) {
            w.put(b + id + ".weight", identity(D, D, 0));
            w.put(b + id + ".bias", zeros(D));
        }
        for (String ff : new String[] {"ff", "ff_context"}) {
            w.put(b + ff + ".net.0.proj.weight", identity(4 * D, D, 0));
            w.put(b + ff + ".net.0.proj.bias", zeros(4 * D));
            w.put(b + ff + ".net.2.weight", identity(D, 4 * D, 0));
            w.put(b + ff + ".net.2.bias", zeros(D));
        }
        String s = "single_transformer_blocks.0.";
        w.put(s + "norm.linear.weight", zeros(3 * D, D));
        w.put(s + "norm.linear.bias", chunks(-0.15, 0.35, 0.55));
        for (String zero : new String[] {"attn.to_q", "attn.to_k"}) {
            w.put(s + zero + ".weight", zeros(D, D));
            w.put(s + zero + ".bias", zeros(D));
        }
        w.put(s + "attn.to_v.weight", identity(D, D, 0));
        w.put(s + "attn.to_v.bias", zeros(D));
        w.put(s + "proj_mlp.weight", identity(4 * D, D, 0));
        w.put(s + "proj_mlp.bias", zeros(4 * D));
        // proj_out input columns [attention 0:D | MLP D:5D]: pass attention and the first D MLP channels
        float[] po = identity(D, 5 * D, 0).data();
        float[] mlpPart = identity(D, 5 * D, D).data();
        for (int i = 0; i < po.length; i++) {
            po[i] += mlpPart[i];
        }
        w.put(s + "proj_out.weight", new HostTensor(new long[] {D, 5 * D}, po));
        w.put(s + "proj_out.bias", zeros(D));
        w.put("norm_out.linear.weight", zeros(2 * D, D));
        w.put("norm_out.linear.bias", chunks(1.0, 3.0));
        w.put("proj_out.weight", identity(64, D, 0));
        w.put("proj_out.bias", zeros(64));
        TinyFlux.writeTransformer(dir.resolve("transformer"), c, w, TensorType.F32, false);
        m = NDManager.newBaseManager();
        model = FluxTransformer.load(dir, TensorType.F32, m);
    }

    @AfterAll
    static void close() {
        model.close();
        m.close();
    }

    static HostTensor zeros(long... shape) {
        return new HostTensor(shape, new float[(int) new Shape(shape).size()]);
    }

    /** [rows, cols] with ones at (i, i + colOffset) for i < min(rows, cols − colOffset). */
    static HostTensor identity(int rows, int cols, int colOffset) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < rows && i + colOffset < cols; i++) {
            v[i * cols + i + colOffset] = 1;
        }
        return new HostTensor(new long[] {rows, cols}, v);
    }

    /** A bias of len(values)·D entries, chunk k constant at values[k]. */
    static HostTensor chunks(double... values) {
        float[] v = new float[values.length * D];
        for (int k = 0; k < values.length; k++) {
            for (int j = 0; j < D; j++) {
                v[k * D + j] = (float) values[k];
            }
        }
        return new HostTensor(new long[] {v.length}, v);
    }

    static double[] layerNorm(double[] x) {
        double mean = 0;
        for (double v : x) {
            mean += v / x.length;
        }
        double var = 0;
        for (double v : x) {
            var += (v - mean) * (v - mean) / x.length;
        }
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (x[i] - mean) / Math.sqrt(var + 1e-6);
        }
        return out;
    }

    static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    static double[] imageToken() {
        double[] a = new double[D];
        for (int j = 0; j < D; j++) {
            a[j] = 0.25 * j - 3 + 0.1 * (j % 3);
        }
        return a;
    }

    static double[] textToken() {
        double[] b = new double[D];
        for (int j = 0; j < D; j++) {
            b[j] = Math.cos(j);
        }
        return b;
    }

    static NDArray token(NDManager m, double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return m.create(f, new Shape(1, 1, v.length));
    }

    static void assertValues(double[] expected, NDArray actual, String what) {
        float[] a = actual.toFloatArray();
        assertEquals(expected.length, a.length, what + " size");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], a[i], TOL, what + " channel " + i);
        }
    }

    RotaryEmbedding rope(NDManager s) {
        return model.rotaryEmbedding(FluxPositions.textIds(1, s), FluxPositions.imageIds(2, 2, s), s);
    }

    @Test
    void doubleBlockModulationIsShiftScaleGate() {
        try (NDManager s = m.newSubManager()) {
            double[] img = imageToken();
            double[] txt = textToken();
            NDArray[] out = model.doubleBlock(0, token(s, img), token(s, txt), s.zeros(new Shape(1, D)), rope(s), SiteKey.COND, CacheSession.singleForward(s),
                    new FlopCounter(), s);
            double[] ni = layerNorm(img);
            double[] nt = layerNorm(txt);
            double[] img1 = new double[D];
            double[] txt1 = new double[D];
            for (int j = 0; j < D; j++) {
                double x = ni[j] * (1 + 0.2) + 0.1; // image: shift 0.1, scale 0.2
                double y = nt[j] * (1 - 0.3) + 0.7; // text: shift 0.7, scale −0.3
                double o = (x + y) / 2; // uniform attention over the two tokens, v = identity
                img1[j] = img[j] + 0.3 * o;
                txt1[j] = txt[j] + 0.25 * o;
            }
            double[] n1 = layerNorm(img1);
            double[] nc1 = layerNorm(txt1);
            double[] img2 = new double[D];
            double[] txt2 = new double[D];
            for (int j = 0; j < D; j++) {
                img2[j] = img1[j] + 0.6 * gelu(n1[j] * (1 + 0.5) + 0.4);
                txt2[j] = txt1[j] + 0.45 * gelu(nc1[j] * (1 + 0.6) - 0.2);
            }
            assertValues(img2, out[0], "image stream");
            assertValues(txt2, out[1], "text stream");
        }
    }

    @Test
    void singleBlockModulationIsShiftScaleGate() {
        try (NDManager s = m.newSubManager()) {
            double[] txt = textToken();
            double[] img = imageToken();
            NDArray z = token(s, txt).concat(token(s, img), 1);
            NDArray out = model.singleBlock(0, z, s.zeros(new Shape(1, D)), rope(s), SiteKey.COND, CacheSession.singleForward(s), new FlopCounter(), s);
            double[][] tokens = {txt, img};
            double[][] x = new double[2][D];
            for (int t = 0; t < 2; t++) {
                double[] n = layerNorm(tokens[t]);
                for (int j = 0; j < D; j++) {
                    x[t][j] = n[j] * (1 + 0.35) - 0.15;
                }
            }
            double[] expected = new double[2 * D];
            for (int t = 0; t < 2; t++) {
                for (int j = 0; j < D; j++) {
                    double total = (x[0][j] + x[1][j]) / 2 + gelu(x[t][j]);
                    expected[t * D + j] = tokens[t][j] + 0.55 * total;
                }
            }
            assertValues(expected, out, "joint stream");
        }
    }

    @Test
    void finalLayerModulationIsScaleThenShift() {
        try (NDManager s = m.newSubManager()) {
            double[] h = imageToken();
            NDArray out = model.finalLayer(token(s, h), s.zeros(new Shape(1, D)), new FlopCounter());
            double[] n = layerNorm(h);
            double[] expected = new double[64];
            for (int j = 0; j < D; j++) {
                expected[j] = n[j] * (1 + 1.0) + 3.0; // rows 0:d of norm_out.linear are the scale
            }
            assertValues(expected, out, "final layer");
        }
    }
}
