package io.hicache.core.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * The one place that knows which element types DJL tolerates.
 *
 * <p>DJL's PyTorch JNI maps only DJL ordinals 0..8 to libtorch scalar types. Handing it
 * {@code BFLOAT16} or {@code INT16} (in {@code toType}, {@code create}, {@code zeros}, safetensors
 * decode, or {@code softmax}/{@code logSoftmax}/{@code cumProd} on a bf16 tensor) hits a bare C++
 * {@code throw;} and aborts the JVM: no exception, nothing to catch. So bf16 tensors are created and
 * converted only by {@link Kernels}, and every DJL call that takes a {@link DataType} goes through
 * {@link #djlType(TensorType)}, which refuses the unsafe ones with a Java exception instead.
 *
 * <p>A bf16 tensor made by the kernels reports {@link DataType#UNKNOWN} to DJL. Most DJL ops
 * (linear, matMul, add/mul, reshape, transpose, concat, split, get) accept it and keep bf16; its
 * values must be read through {@link #toFloat32(NDArray)}.
 */
public final class Precision {
    private Precision() {}

    /** True when DJL may be handed this type. */
    public static boolean isDjlSafe(TensorType t) {
        return t != TensorType.BF16 && t != TensorType.I16;
    }

    /** The DJL type for a safe tensor type; throws for bf16/int16 instead of letting DJL abort. */
    public static DataType djlType(TensorType t) {
        switch (t) {
            case F64:
                return DataType.FLOAT64;
            case F32:
                return DataType.FLOAT32;
            case F16:
                return DataType.FLOAT16;
            case I64:
                return DataType.INT64;
            case I32:
                return DataType.INT32;
            case I8:
                return DataType.INT8;
            case U8:
                return DataType.UINT8;
            case BOOL:
                return DataType.BOOLEAN;
            default:
                throw new IllegalArgumentException(
                        t + " must not be handed to DJL (it aborts the JVM); use Kernels instead");
        }
    }

    /**
     * The tensor type of an array. DJL reports bf16 as UNKNOWN; the kernels ask libtorch for the
     * real scalar type in that case.
     */
    public static TensorType typeOf(NDArray x) {
        DataType d = x.getDataType();
        switch (d) {
            case FLOAT64:
                return TensorType.F64;
            case FLOAT32:
                return TensorType.F32;
            case FLOAT16:
                return TensorType.F16;
            case INT64:
                return TensorType.I64;
            case INT32:
                return TensorType.I32;
            case INT8:
                return TensorType.I8;
            case UINT8:
                return TensorType.U8;
            case BOOLEAN:
                return TensorType.BOOL;
            default:
                return Kernels.of(x).scalarType(x);
        }
    }

    /** Casts to {@code target}; every conversion that touches bf16 runs inside the kernels. */
    public static NDArray cast(NDArray x, TensorType target) {
        TensorType from = typeOf(x);
        if (from == target) {
            return x;
        }
        if (isDjlSafe(from) && isDjlSafe(target)) {
            return x.toType(djlType(target), false);
        }
        return Kernels.of(x).cast(x, target);
    }

    /** A float32 copy (or {@code x} itself when already f32), safe to read with toFloatArray(). */
    public static NDArray toFloat32(NDArray x) {
        return cast(x, TensorType.F32);
    }
}
