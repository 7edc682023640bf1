package io.hicache.core.runtime;

import static io.hicache.core.testing.TensorAssert.maxAbsDiff;
import static io.hicache.core.testing.TensorAssert.maxRelDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.testing.TensorAssert;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every kernel against an independent composition of plain DJL ops in float64, on inputs that are
 * exactly representable in the kernel's dtype. f32 tolerance: max error ≤ 1e-5 of the output scale;
 * bf16: ≤ 2⁻⁶ (four bf16 ulps) of the scale, since inputs, intermediates and output round to 8 bits.
 */
class KernelsTest {
    static final double F32_TOL = 1e-5;
    static final double BF16_TOL = 1.0 / 64;
    static final List<String> TABLE = new ArrayList<>();

    NDManager m;
    Kernels k;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
        m.getEngine().setRandomSeed(1234);
        k = Kernels.on(Device.cpu());
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    @AfterAll
    static void printTable() {
        System.out.println("kernel accuracy (max abs / max rel to output scale, vs float64 DJL composition)");
        System.out.printf("%-22s %-9s %-11s %-11s%n", "kernel", "dtype", "max abs", "max rel");
        TABLE.forEach(System.out::println);
    }

    /** Input in {@code type}, with values exactly representable there; returned in f32. */
    NDArray input(Shape shape, TensorType type) {
        NDArray x = m.randomNormal(shape);
        return Precision.toFloat32(Precision.cast(x, type));
    }

    static NDArray f64(NDArray x) {
        return x.toType(DataType.FLOAT64, false);
    }

    /** Runs the kernel in {@code type} on f32 inputs, compares with the f64 reference. */
    void check(String name, TensorType type, NDArray reference, NDArray kernelOutput) {
        NDArray out = Precision.toFloat32(kernelOutput);
        assertEquals(type, Precision.typeOf(kernelOutput), name + " keeps its dtype");
        double abs = maxAbsDiff(reference, out);
        double rel = maxRelDiff(reference, out);
        TABLE.add(String.format("%-22s %-9s %-11.3g %-11.3g", name, type.displayName(), abs, rel));
        double tol = type == TensorType.BF16 ? BF16_TOL : F32_TOL;
        assertTrue(rel <= tol, () -> name + " " + type + ": rel error " + rel + " > " + tol);
    }

    NDArray in(NDArray f32, TensorType type) {
        return Precision.cast(f32, type);
    }

    static NDArray softmaxRef(NDArray s) {
        NDArray max = s.max(new int[] {-1}, true);
        NDArray e = s.sub(max).exp();
        return e.div(e.sum(new int[] {-1}, true));
    }

    @Test
    void sdpaMatchesComposedAttention() {
        for (TensorType t : new TensorType[] {TensorType.F32, TensorType.BF16}) {
            NDArray q = input(new Shape(2, 3, 7, 16), t);
            NDArray kk = input(new Shape(2, 3, 9, 16), t);
            NDArray v = input(new Shape(2, 3, 9, 16), t);
            double scale = 1 / Math.sqrt(16);
            NDArray ref = softmaxRef(f64(q).matMul(f64(kk).transpose(0, 1, 3, 2)).mul(scale)).matMul(f64(v));
            check("sdpa", t, ref, k.sdpa(in(q, t), in(kk, t), in(v, t), scale));

            NDArray bias = input(new Shape(3, 7, 9), TensorType.F32);
            NDArray refMasked = softmaxRef(f64(q).matMul(f64(kk).transpose(0, 1, 3, 2)).mul(scale).add(f64(bias)))
                    .matMul(f64(v));
            check("sdpa + additive mask", t, refMasked, k.sdpa(in(q, t), in(kk, t), in(v, t), bias, scale));

            // T5 style: no scaling (scale 1) with a large bias
            check("sdpa scale=1", t,
                    softmaxRef(f64(q).matMul(f64(kk).transpose(0, 1, 3, 2)).add(f64(bias).mul(3))).matMul(f64(v)),
                    k.sdpa(in(q, t), in(kk, t), in(v, t), bias.mul(3), 1.0));

            // composed: one block per head, and blocks of 2 query rows (the last one short)
            for (long block : new long[] {Kernels.COMPOSED_BLOCK, 2 * 9}) {
                check("composed block " + block, t, ref, k.sdpaComposed(in(q, t), in(kk, t), in(v, t), scale, block));
                check("composed + mask " + block, t, refMasked,
                        k.sdpaComposed(in(q, t), in(kk, t), in(v, t), bias, scale, block));
            }
            // a key-padding mask [B, 1, 1, Lk], as the text-padding masks of Qwen-Image
            NDArray keys = m.create(new float[] {0, 0, 0, 0, 0, 0, -1e4f, -1e4f, -1e4f, 0, 0, 0, 0, 0, 0, 0, 0, -1e4f},
                    new Shape(2, 1, 1, 9));
            NDArray refKeys = softmaxRef(f64(q).matMul(f64(kk).transpose(0, 1, 3, 2)).mul(scale).add(f64(keys)))
                    .matMul(f64(v));
            check("composed + key mask", t, refKeys, k.sdpaComposed(in(q, t), in(kk, t), in(v, t), keys, scale, 2 * 9));
        }
    }

    @Test
    void attentionTakesTheComposedRouteForBf16OnCpusWithNativeBf16Only() {
        NDArray q = m.randomNormal(new Shape(1, 2, 5, 8));
        for (TensorType t : new TensorType[] {TensorType.F32, TensorType.BF16}) {
            long fused = k.calls("sdpa");
            long composed = k.calls("sdpa_composed");
            k.attention(in(q, t), in(q, t), in(q, t), null, 0.3);
            boolean expectComposed = t == TensorType.BF16 && CpuFeatures.nativeBf16();
            assertEquals(expectComposed ? 0 : 1, k.calls("sdpa") - fused, t + ": fused calls");
            assertEquals(expectComposed ? 1 : 0, k.calls("sdpa_composed") - composed, t + ": composed calls");
        }
        String before = System.getProperty(Kernels.ATTENTION_ROUTE_PROPERTY);
        try {
            System.setProperty(Kernels.ATTENTION_ROUTE_PROPERTY, "fused");
            assertTrue(!Kernels.composedAttention(in(q, TensorType.BF16)), "forced fused");
            System.setProperty(Kernels.ATTENTION_ROUTE_PROPERTY, "composed");
            assertTrue(Kernels.composedAttention(q), "forced composed");
            System.setProperty(Kernels.ATTENTION_ROUTE_PROPERTY, "flash");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Kernels.composedAttention(q));
            assertTrue(e.getMessage().contains("fused or composed"), e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(Kernels.ATTENTION_ROUTE_PROPERTY);
            } else {
                System.setProperty(Kernels.ATTENTION_ROUTE_PROPERTY, before);
            }
        }
    }

    @Test
    void weightedSumMatchesItsFormulaInEveryDtype() {
        double[] coef = {1, -2.75, 0.3125};
        for (TensorType t : new TensorType[] {TensorType.F32, TensorType.BF16}) {
            NDArray stack = input(new Shape(3, 2, 5, 7), t);
            NDArray ref = f64(stack.get(0)).add(f64(stack.get(1)).mul(coef[1])).add(f64(stack.get(2)).mul(coef[2]));
            NDArray out;
            try (NDManager into = m.newSubManager()) {
                out = k.weightedSum(in(stack, t), coef, into);
                assertTrue(out.getManager() == into, "result attached to the given manager");
                out.attach(m);
            }
            assertArrayEquals(new long[] {2, 5, 7}, out.getShape().getShape());
            check("weighted sum", t, ref, out);
        }
    }

    @Test
    void causalAttentionSeesOnlyThePast() {
        for (TensorType t : new TensorType[] {TensorType.F32, TensorType.BF16}) {
            NDArray q = input(new Shape(1, 2, 6, 8), t);
            NDArray v = input(new Shape(1, 2, 6, 8), t);
            double scale = 0.35;
            float[] mask = new float[36];
            for (int i = 0; i < 6; i++) {
                for (int j = 0; j < 6; j++) {
                    mask[i * 6 + j] = j <= i ? 0f : Float.NEGATIVE_INFINITY;
                }
            }
            NDArray maskNd = m.create(mask, new Shape(6, 6));
            NDArray ref = softmaxRef(f64(q).matMul(f64(q).transpose(0, 1, 3, 2)).mul(scale).add(f64(maskNd)))
                    .matMul(f64(v));
            check("sdpa causal", t, ref, k.sdpaCausal(in(q, t), in(q, t), in(v, t), scale));
        }
        // row 0 attends to key 0 only: its output equals v[0] exactly
        NDArray q = m.randomNormal(new Shape(1, 1, 4, 8));
        NDArray v = m.randomNormal(new Shape(1, 1, 4, 8));
        NDArray out = k.sdpaCausal(q, q, v, 0.5);
        TensorAssert.assertClose(v.get(new NDIndex(":, :, 0")), out.get(new NDIndex(":, :, 0")), 1e-6, 0, "causal row 0");
    }

    @Test
    void normsMatchTheirFormulas() {
        double eps = 1e-6;
        for (TensorType t : new TensorType[] {TensorType.F32, TensorType.BF16}) {
            NDArray x = input(new Shape(3, 5, 32), t).mul(3).add(0.5);
            x = Precision.toFloat32(Precision.cast(x, t));
            NDArray w = input(new Shape(32), t);
            NDArray b = input(new Shape(32), t);
            NDArray xd = f64(x);
            NDArray rms = xd.div(xd.square().mean(new int[] {-1}, true).add(eps).sqrt()).mul(f64(w));
            check("rms_norm", t, rms, k.rmsNorm(in(x, t), in(w, t), eps));

            NDArray mean = xd.mean(new int[] {-1}, true);
            NDArray var = xd.sub(mean).square().mean(new int[] {-1}, true);
            NDArray ln = xd.sub(mean).div(var.add(eps).sqrt());
            check("layer_norm (no affine)", t, ln, k.layerNorm(in(x, t), eps));
            check("layer_norm (affine)", t, ln.mul(f64(w)).add(f64(b)), k.layerNorm(in(x, t), in(w, t), in(b, t), eps));

            NDArray shift = input(new Shape(3, 1, 32), t);
            NDArray scale = input(new Shape(3, 1, 32), t);
            check("modulate", t, ln.mul(f64(scale).add(1)).add(f64(shift)),
                    k.modulate(in(x, t), in(shift, t), in(scale, t), eps));

            NDArray img = input(new Shape(2, 8, 5, 6), t).mul(2).add(1);
            img = Precision.toFloat32(Precision.cast(img, t));
            NDArray gw = input(new Shape(8), t);
            NDArray gb = input(new Shape(8), t);
            NDArray g = f64(img).reshape(2, 4, -1);
            NDArray gm = g.mean(new int[] {-1}, true);
            NDArray gv = g.sub(gm).square().mean(new int[] {-1}, true);
            NDArray gn = g.sub(gm).div(gv.add(eps).sqrt()).reshape(2, 8, 5, 6)
                    .mul(f64(gw).reshape(1, 8, 1, 1)).add(f64(gb).reshape(1, 8, 1, 1));
            check("group_norm", t, gn, k.groupNorm(in(img, t), 4, in(gw, t), in(gb, t), eps));
        }
    }

    @Test
    void activationsMatchTheirFormulas() {
        for (TensorType t : new TensorType[] {TensorType.F32, TensorType.BF16}) {
            NDArray x = input(new Shape(4, 64), t).mul(3);
            x = Precision.toFloat32(Precision.cast(x, t));
            NDArray xd = f64(x);
            NDArray inner = xd.add(xd.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
            check("gelu_tanh", t, xd.mul(0.5).mul(inner.tanh().add(1)), k.geluTanh(in(x, t)));
            check("gelu_erf", t, xd.mul(0.5).mul(xd.div(Math.sqrt(2)).erf().add(1)), k.geluErf(in(x, t)));
            NDArray sig = xd.neg().exp().add(1).pow(-1);
            check("silu", t, xd.mul(sig), k.silu(in(x, t)));
            NDArray qsig = xd.mul(-1.702).exp().add(1).pow(-1);
            check("quick_gelu", t, xd.mul(qsig), k.quickGelu(in(x, t)));
            check("softmax (fp32 inside)", t, softmaxRef(xd), k.softmax(in(x, t), -1));
        }
    }

    @Test
    void upsampleRepeatsEachPixelTwice() {
        for (TensorType t : new TensorType[] {TensorType.F32, TensorType.BF16}) {
            NDArray x = input(new Shape(1, 2, 3, 4), t);
            NDArray ref = f64(x).repeat(2, 2).repeat(3, 2);
            NDArray out = k.upsampleNearest2x(in(x, t));
            assertArrayEquals(new long[] {1, 2, 6, 8}, out.getShape().getShape());
            check("upsample_nearest2x", t, ref, out);
        }
    }

    /** Round-to-nearest-even of an f32 to bf16, by hand on the bits. */
    static float bf16Round(float f) {
        int bits = Float.floatToRawIntBits(f);
        int lsb = (bits >> 16) & 1;
        int rounded = (bits + 0x7FFF + lsb) & 0xFFFF0000;
        return Float.intBitsToFloat(rounded);
    }

    @Test
    void castsRoundToNearestEvenAndRoundTrip() {
        float[] vals = {1.0f, -2.5f, 0.1f, 3.14159265f, 1.00390625f, 1.005859375f, 65504f, 1e-20f, -7.77e5f};
        NDArray x = m.create(vals);
        NDArray bf = k.cast(x, TensorType.BF16);
        assertEquals(TensorType.BF16, Precision.typeOf(bf));
        assertEquals(DataType.UNKNOWN, bf.getDataType(), "DJL sees bf16 as UNKNOWN");
        float[] back = Precision.toFloat32(bf).toFloatArray();
        for (int i = 0; i < vals.length; i++) {
            assertEquals(bf16Round(vals[i]), back[i], 0f, "bf16 rounding of " + vals[i]);
        }
        // ties to even: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7 → 1.0
        assertEquals(1.0f, back[4]);
        NDArray h = k.cast(x, TensorType.F16);
        assertEquals(DataType.FLOAT16, h.getDataType());
        assertEquals(65504f, h.toType(DataType.FLOAT32, false).toFloatArray()[6]);
        // f32 -> bf16 -> f16 -> f32 stays finite and exact for bf16 values inside f16's range
        NDArray viaHalf = Precision.toFloat32(k.cast(bf, TensorType.F16));
        assertEquals(back[0], viaHalf.toFloatArray()[0]);
    }

    @Test
    void kernelsWorkOnDjlOpsOutputsAndBack() {
        // bf16 tensors flow through the DJL ops the models use and stay bf16.
        NDArray a = k.cast(m.randomNormal(new Shape(4, 8)), TensorType.BF16);
        NDArray w = k.cast(m.randomNormal(new Shape(6, 8)), TensorType.BF16);
        NDArray y = ai.djl.nn.core.Linear.linear(a, w, null).singletonOrThrow();
        assertEquals(TensorType.BF16, Precision.typeOf(y));
        NDArray sum = NDArrays.concat(new ai.djl.ndarray.NDList(y, y), 1).add(y.tile(new long[] {1, 2}));
        assertEquals(TensorType.BF16, Precision.typeOf(sum));
    }

    @Test
    void callsAreCountedPerMethod() {
        NDArray x = m.randomNormal(new Shape(2, 4));
        long before = k.calls("silu");
        k.silu(x);
        k.silu(x);
        assertEquals(before + 2, k.calls("silu"));
    }

    @Test
    void oneModulePerDevice() {
        assertTrue(Kernels.on(Device.cpu()) == Kernels.on(Device.cpu()));
        assertTrue(Kernels.of(m.zeros(new Shape(1))) == k);
    }

}
