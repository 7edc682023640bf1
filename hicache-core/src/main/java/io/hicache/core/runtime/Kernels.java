package io.hicache.core.runtime;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * Ops DJL lacks, compiled by libtorch from TorchScript source kept as the resource
 * {@code kernels.torchscript}: fused scaled-dot-product attention, RMSNorm, LayerNorm without affine,
 * tanh/erf/quick GELU, SiLU, GroupNorm, fp32 softmax, nearest upsampling, dtype casts (bf16
 * included) and raw-byte/file loading.
 *
 * <p>The archive is generated in memory at run time and loaded once per device; instances are
 * cached and shared by all threads. Results are attached to the manager of the first tensor
 * argument. Every call is counted per method so tests and statistics can see what ran.
 */
public final class Kernels {
    private static final String RESOURCE = "kernels.torchscript";
    private static final Map<Device, Kernels> BY_DEVICE = new ConcurrentHashMap<>();
    /**
     * TorchScript's graph executor profiles the first calls of a method and then may fuse its ops;
     * fused and unfused code round differently, so results would depend on how many calls (from
     * any thread) came before — two workers would not reproduce one worker's images — and the
     * first calls would be slow. The setting is per thread, hence this flag.
     */
    private static final ThreadLocal<Boolean> INTERPRETER_ONLY = ThreadLocal.withInitial(() -> {
        JniUtils.setGraphExecutorOptimize(false);
        return true;
    });
    private static volatile byte[] archive;

    private final Device device;
    private final PtSymbolBlock module;
    private final Map<String, LongAdder> calls = new ConcurrentHashMap<>();

    private Kernels(Device device, PtSymbolBlock module) {
        this.device = device;
        this.module = module;
    }

    /** The kernels for {@code device}, compiled on first use. */
    public static Kernels on(Device device) {
        return BY_DEVICE.computeIfAbsent(device, Kernels::load);
    }

    /** The kernels for the device {@code x} lives on. */
    public static Kernels of(NDArray x) {
        return on(x.getDevice());
    }

    private static Kernels load(Device device) {
        HiCacheRuntime.bootstrap();
        // The module outlives every caller: it belongs to a manager that is never closed.
        PtNDManager owner = (PtNDManager) NDManager.newBaseManager(device, "PyTorch");
        try (InputStream in = new ByteArrayInputStream(archiveBytes())) {
            return new Kernels(device, JniUtils.loadModule(owner, in, true, false));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] archiveBytes() {
        byte[] a = archive;
        if (a == null) {
            try (InputStream in = Kernels.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException("missing resource " + RESOURCE);
                }
                String source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                a = TorchScriptArchive.build("kernels", "Ops", source);
                archive = a;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return a;
    }

    public Device device() {
        return device;
    }

    /** How many times {@code method} ran on this device since start (or the last reset). */
    public long calls(String method) {
        LongAdder a = calls.get(method);
        return a == null ? 0 : a.sum();
    }

    /** Total calls of all methods on this device. */
    public long totalCalls() {
        return calls.values().stream().mapToLong(LongAdder::sum).sum();
    }

    // ---------------------------------------------------------------- attention

    /** softmax(q·kᵀ·scale)·v over the last two axes; q,k,v [..., L, D]. */
    public NDArray sdpa(NDArray q, NDArray k, NDArray v, double scale) {
        return tensor("sdpa", q, q, k, v, scale);
    }

    /** As {@link #sdpa} with an additive mask/bias broadcastable to [..., Lq, Lk]. */
    public NDArray sdpa(NDArray q, NDArray k, NDArray v, NDArray additiveMask, double scale) {
        return tensor("sdpa_mask", q, q, k, v, additiveMask, scale);
    }

    /** As {@link #sdpa} with a causal mask (query i sees keys j ≤ i). */
    public NDArray sdpaCausal(NDArray q, NDArray k, NDArray v, double scale) {
        return tensor("sdpa_causal", q, q, k, v, scale);
    }

    /**
     * Score elements per block of {@link #sdpaComposed}: 8 MB of bf16 scores, a block that stays in a
     * server CPU's cache (measured on a 2-core EPYC: blocks of 1–8 Mi elements ran alike, 32 Mi
     * elements about five times slower).
     */
    public static final long COMPOSED_BLOCK = 1L << 22;

    /** System property that forces a route for {@link #attention}: {@code fused} or {@code composed}. */
    public static final String ATTENTION_ROUTE_PROPERTY = "hicache.attention";

    /**
     * softmax(q·kᵀ·scale + mask)·v (mask null for none), by the route that is fastest for the
     * device and dtype: the composed one for bf16 on a CPU that multiplies bf16 natively, where
     * libtorch's fused kernel computes bf16 at float32 speed, and the fused kernel everywhere else
     * (a CPU without native bf16 emulates the composed route's products, 40 times slower).
     * {@value #ATTENTION_ROUTE_PROPERTY} overrides the choice.
     */
    public NDArray attention(NDArray q, NDArray k, NDArray v, NDArray mask, double scale) {
        if (composedAttention(q)) {
            return mask == null ? sdpaComposed(q, k, v, scale, COMPOSED_BLOCK)
                    : sdpaComposed(q, k, v, mask, scale, COMPOSED_BLOCK);
        }
        return mask == null ? sdpa(q, k, v, scale) : sdpa(q, k, v, mask, scale);
    }

    /** Whether {@link #attention} takes the composed route for tensors like {@code q}. */
    public static boolean composedAttention(NDArray q) {
        String forced = System.getProperty(ATTENTION_ROUTE_PROPERTY, "");
        if (!forced.isEmpty()) {
            if (!forced.equals("fused") && !forced.equals("composed")) {
                throw new IllegalArgumentException(ATTENTION_ROUTE_PROPERTY + " must be fused or composed, got '" + forced + "'");
            }
            return forced.equals("composed");
        }
        return Device.Type.CPU.equals(q.getDevice().getDeviceType()) && Precision.typeOf(q) == TensorType.BF16
                && CpuFeatures.nativeBf16();
    }

    /**
     * As {@link #sdpa}, composed per head from two matrix products over blocks of query rows whose
     * scores hold at most {@code block} elements, with the softmax in the input dtype (computed in
     * float32 inside libtorch); q is scaled before the product so the scores are rounded once.
     */
    public NDArray sdpaComposed(NDArray q, NDArray k, NDArray v, double scale, long block) {
        return tensor("sdpa_composed", q, q, k, v, scale, block);
    }

    /** As {@link #sdpaComposed} with an additive mask broadcastable to [B, H, Lq, Lk]. */
    public NDArray sdpaComposed(NDArray q, NDArray k, NDArray v, NDArray additiveMask, double scale, long block) {
        return tensor("sdpa_composed_mask", q, q, k, v, additiveMask, scale, block);
    }

    // ---------------------------------------------------------------- norms and activations

    /** x / sqrt(mean(x²) + eps) · w over the last axis (reduction in fp32 for reduced types). */
    public NDArray rmsNorm(NDArray x, NDArray w, double eps) {
        return tensor("rms_norm", x, x, w, eps);
    }

    /** LayerNorm over the last axis without affine parameters. */
    public NDArray layerNorm(NDArray x, double eps) {
        return tensor("layer_norm", x, x, eps);
    }

    /** LayerNorm over the last axis with weight and bias. */
    public NDArray layerNorm(NDArray x, NDArray w, NDArray b, double eps) {
        return tensor("layer_norm_affine", x, x, w, b, eps);
    }

    /**
     * x + gate·y in one pass (one rounding in bf16): how a DiT block adds a gated attention or MLP
     * output to its residual stream; gate [B, 1, d] broadcasts over tokens.
     */
    public NDArray gatedAdd(NDArray x, NDArray gate, NDArray y) {
        return tensor("gated_add", x, x, gate, y);
    }

    /** LN(x)·(1 + scale) + shift, LN without affine — the adaLN modulation of DiT blocks. */
    public NDArray modulate(NDArray x, NDArray shift, NDArray scale, double eps) {
        return tensor("modulate", x, x, shift, scale, eps);
    }

    /** GroupNorm over [N, C, ...] with affine parameters. */
    public NDArray groupNorm(NDArray x, int groups, NDArray w, NDArray b, double eps) {
        return tensor("group_norm", x, x, (long) groups, w, b, eps);
    }

    public NDArray geluTanh(NDArray x) {
        return tensor("gelu_tanh", x, x);
    }

    public NDArray geluErf(NDArray x) {
        return tensor("gelu_erf", x, x);
    }

    /** x·sigmoid(1.702x), CLIP's activation. */
    public NDArray quickGelu(NDArray x) {
        return tensor("quick_gelu", x, x);
    }

    public NDArray silu(NDArray x) {
        return tensor("silu", x, x);
    }

    /** Softmax computed in fp32 and returned in x's dtype (DJL's softmax aborts on bf16). */
    public NDArray softmax(NDArray x, int axis) {
        return tensor("softmax_f32", x, x, (long) axis);
    }

    /** Nearest-neighbour ×2 upsampling of [N, C, H, W]. */
    public NDArray upsampleNearest2x(NDArray x) {
        return tensor("upsample_nearest2x", x, x);
    }

    // ---------------------------------------------------------------- types and loading

    /** Casts to any {@link TensorType}, bf16 included. */
    public NDArray cast(NDArray x, TensorType target) {
        return tensor("cast", x, x, (long) target.torchCode());
    }

    /** The scalar type libtorch reports for x (DJL shows bf16 as UNKNOWN). */
    public TensorType scalarType(NDArray x) {
        return call("dtype_code", out -> TensorType.fromTorchCode((int) out.toLong()), x);
    }

    /**
     * A tensor of {@code type} and {@code shape} from raw little-endian bytes. For types DJL takes,
     * a direct buffer is wrapped without a copy (keep it alive and unmodified while the tensor
     * lives, and never write to the tensor in place when the buffer is read-only); heap buffers are
     * copied. bf16 and int16 are wrapped as bytes and copied once into a tensor of their own type by
     * libtorch ({@code view_copy}: TorchScript cannot reach the in-place dtype view), so the result
     * owns its memory.
     */
    public NDArray fromBytes(ByteBuffer raw, TensorType type, Shape shape, NDManager manager) {
        long n = shape.size();
        long expected = Math.multiplyExact(n, (long) type.bytes());
        if (raw.remaining() != expected) {
            throw new IllegalArgumentException(String.format(
                    "%d bytes given for %s%s, expected %d", raw.remaining(), type, shape, expected));
        }
        ByteBuffer data = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
        if (Precision.isDjlSafe(type)) {
            return manager.create(data, shape, Precision.djlType(type));
        }
        if (n == 0) {
            try (NDArray empty = manager.zeros(new Shape(0), Precision.djlType(TensorType.F32))) {
                return cast(empty, type).reshape(shape);
            }
        }
        try (NDArray bytes = manager.create(data, new Shape(expected), Precision.djlType(TensorType.U8));
                NDArray flat = tensor("copy_bytes_as", bytes, bytes, (long) type.torchCode())) {
            return flat.reshape(shape);
        }
    }

    /**
     * The whole file viewed as {@code numel} elements of {@code type} (memory-mapped, private,
     * lazily paged). Used for bf16 checkpoints: slice past the header, then per tensor.
     */
    public NDArray fromFile(Path file, long numel, TensorType type, NDManager manager) {
        return call("from_file", out -> out.toTensor((PtNDManager) manager),
                file.toAbsolutePath().toString(), numel, (long) type.torchCode());
    }

    // ---------------------------------------------------------------- cache

    /**
     * Σ_k coef[k]·stack[k], shape {@code stack.shape[1:]}, attached to {@code into}. Float32 and
     * float64 stacks take one [1, c] × [c, n] product with {@code coef} cast to the stack's dtype
     * (the results the golden vectors pin); bf16 stacks take scaled adds into one buffer, since
     * libtorch's bf16 product with one row runs at half their speed on CPU (0.97 against 0.53 ms
     * for [3, 1536·768], measured).
     */
    public NDArray weightedSum(NDArray stack, double[] coef, NDManager into) {
        long[] shape = stack.getShape().slice(1).getShape();
        if (Precision.typeOf(stack) == TensorType.BF16) {
            NDArray out = tensor("weighted_sum_axpy", stack, stack, coef, shape);
            out.attach(into);
            return out;
        }
        try (NDArray c = into.create(coef)) {
            return tensor("weighted_sum", c, stack, c, shape);
        }
    }

    /**
     * The finite-difference update at a full step, as upstream computes it, element-wise in f's
     * dtype: N[0] = f and N[i+1] = (N[i] − old[i]) / distance for i < {@code produced}; returns the
     * new stack [produced + 1, f.shape…] attached to {@code into}.
     */
    public NDArray derivativeUpdate(NDArray f, NDArray old, int produced, int distance, NDManager into) {
        checkDistance(produced, distance);
        NDArray out = tensor("derivative_update", f, f, old, (long) produced, (long) distance);
        out.attach(into);
        return out;
    }

    /**
     * {@link #derivativeUpdate} with as many orders out as {@code stack} holds, written into the
     * stack's own storage with no other buffer: the same operations on the same values, so the same
     * bits. Seven passes over a [3, 1536·768] bf16 stack took 1.1–1.6 ms where the former float32
     * matrix product through a scratch buffer took 4.8–6.6 ms (measured on a 2-core EPYC with AVX2).
     */
    public void derivativeUpdateInPlace(NDArray f, NDArray stack, int distance) {
        checkDistance((int) stack.getShape().get(0) - 1, distance);
        call("derivative_update_into", IValue::toLong, f, stack, (long) distance);
    }

    private static void checkDistance(int produced, int distance) {
        if (produced > 0 && distance <= 0) {
            throw new IllegalArgumentException("step distance must be positive, got " + distance);
        }
    }

    /** Mean over all leading axes of the L2 norm over the last axis, in fp32. */
    public double tokenNormMean(NDArray x) {
        return scalar("token_norm_mean", x);
    }

    /** The {@code q} quantile over all leading axes of the L2 norm over the last axis, in fp32. */
    public double tokenNormQuantile(NDArray x, double q) {
        return scalar("token_norm_quantile", x, q);
    }

    /** {‖a − b‖₂, ‖b‖₂} over all elements, accumulated in fp64 on the tensors' device. */
    public double[] diffAndReferenceNorms(NDArray a, NDArray b) {
        try (NDArray norms = tensor("diff_and_reference_norms", a, a, b)) {
            return norms.toDoubleArray();
        }
    }

    /** True when no element is NaN or infinite. */
    public boolean allFinite(NDArray x) {
        return call("all_finite", IValue::toBoolean, x);
    }

    // ---------------------------------------------------------------- models

    /**
     * Rotary embedding with interleaved pairs: entries (2j, 2j+1) of the last axis of x [..., L, D]
     * are rotated by the angle whose cosine and sine are {@code cos[l, j]}, {@code sin[l, j]}
     * ([L, D/2]). Computed in fp32 (fp64 for fp64 x) and returned in x's dtype.
     */
    public NDArray ropeInterleaved(NDArray x, NDArray cos, NDArray sin) {
        return tensor("rope_interleaved", x, x, cos, sin);
    }

    // ---------------------------------------------------------------- text encoders and VAE

    /**
     * Rotary embedding in the "rotate half" convention of the Qwen2.5-VL language model and ViT:
     * {@code x·cos + [−x₂, x₁]·sin} with x₁, x₂ the two halves of the last axis of x [..., L, D]
     * and cos, sin broadcastable to it (full width D, the half-width table repeated). Computed in
     * fp32 (fp64 for fp64 x) and returned in x's dtype.
     */
    public NDArray ropeRotateHalf(NDArray x, NDArray cos, NDArray sin) {
        return tensor("rope_rotate_half", x, x, cos, sin);
    }

    /**
     * Causal attention with grouped key/value heads: q [B, H, L, D], k and v [B, Hkv, L, D] with
     * Hkv dividing H; kv head g serves q heads g·H/Hkv … (g+1)·H/Hkv − 1.
     */
    public NDArray sdpaGqaCausal(NDArray q, NDArray k, NDArray v, double scale) {
        return tensor("sdpa_gqa_causal", q, q, k, v, scale);
    }

    /** As {@link #sdpaGqaCausal} with an additive mask (broadcastable to [B, H, L, L]) instead of causality. */
    public NDArray sdpaGqa(NDArray q, NDArray k, NDArray v, NDArray additiveMask, double scale) {
        return tensor("sdpa_gqa_mask", q, q, k, v, additiveMask, scale);
    }

    // ---------------------------------------------------------------- plumbing

    /** Runs a method returning a tensor, attached to the manager of {@code resultOwner}. */
    private NDArray tensor(String method, NDArray resultOwner, Object... args) {
        return call(method, out -> out.toTensor((PtNDManager) resultOwner.getManager()), args);
    }

    private double scalar(String method, Object... args) {
        return call(method, IValue::toDouble, args);
    }

    /** Runs {@code method} in the plain interpreter, reads its result, and frees every IValue. */
    private <T> T call(String method, Function<IValue, T> read, Object... args) {
        count(method);
        INTERPRETER_ONLY.get();
        IValue[] in = new IValue[args.length];
        try {
            for (int i = 0; i < args.length; i++) {
                in[i] = toIValue(args[i]);
            }
            try (IValue out = IValueUtils.runMethod(module, method, in)) {
                return read.apply(out);
            }
        } finally {
            for (IValue v : in) {
                if (v != null) {
                    v.close();
                }
            }
        }
    }

    private static IValue toIValue(Object a) {
        if (a instanceof NDArray) {
            NDArray x = (NDArray) a;
            if (!(x instanceof PtNDArray)) {
                throw new IllegalArgumentException("kernels need PyTorch tensors, got " + x.getClass());
            }
            return IValue.from((PtNDArray) x);
        }
        if (a instanceof String) {
            return IValue.from((String) a);
        }
        if (a instanceof Double) {
            return IValue.from((double) (Double) a);
        }
        if (a instanceof Long) {
            return IValue.from((long) (Long) a);
        }
        if (a instanceof long[]) {
            return IValue.listFrom((long[]) a);
        }
        if (a instanceof double[]) {
            return IValue.listFrom((double[]) a);
        }
        throw new IllegalArgumentException("unsupported kernel argument " + a);
    }

    private void count(String method) {
        calls.computeIfAbsent(method, m -> new LongAdder()).increment();
    }
}
