package io.hicache.core.runtime;

import java.util.Locale;

/**
 * Element types of tensors as checkpoints name them (safetensors dtype strings), with their size and
 * PyTorch scalar-type code. Whether DJL may see a type is decided by {@link Precision}, not here.
 */
public enum TensorType {
    F64("F64", 8, 7),
    F32("F32", 4, 6),
    F16("F16", 2, 5),
    BF16("BF16", 2, 15),
    I64("I64", 8, 4),
    I32("I32", 4, 3),
    I16("I16", 2, 2),
    I8("I8", 1, 1),
    U8("U8", 1, 0),
    BOOL("BOOL", 1, 11);

    private final String safetensorsName;
    private final int bytes;
    private final int torchCode;

    TensorType(String safetensorsName, int bytes, int torchCode) {
        this.safetensorsName = safetensorsName;
        this.bytes = bytes;
        this.torchCode = torchCode;
    }

    /** The dtype string in a safetensors header. */
    public String safetensorsName() {
        return safetensorsName;
    }

    public int bytes() {
        return bytes;
    }

    /** {@code c10::ScalarType} ordinal, the integer TorchScript uses for a dtype. */
    public int torchCode() {
        return torchCode;
    }

    public boolean isFloatingPoint() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** Parses a safetensors dtype name; returns null for names this project does not know. */
    public static TensorType fromSafetensors(String name) {
        for (TensorType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return t;
            }
        }
        return null;
    }

    public static TensorType fromTorchCode(int code) {
        for (TensorType t : values()) {
            if (t.torchCode == code) {
                return t;
            }
        }
        throw new IllegalArgumentException("unsupported torch scalar type code " + code);
    }

    /**
     * Parses a user-facing compute dtype: {@code float32}/{@code fp32}/{@code f32} or
     * {@code bfloat16}/{@code bf16}. These are the two compute types the project supports.
     */
    public static TensorType parseCompute(String name) {
        switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "float32":
            case "fp32":
            case "f32":
                return F32;
            case "bfloat16":
            case "bf16":
                return BF16;
            default:
                throw new IllegalArgumentException(
                        "unsupported dtype '" + name + "': use float32 or bfloat16");
        }
    }

    /** The user-facing name: {@code float32}, {@code bfloat16}, ... */
    public String displayName() {
        switch (this) {
            case F32:
                return "float32";
            case BF16:
                return "bfloat16";
            case F16:
                return "float16";
            case F64:
                return "float64";
            default:
                return safetensorsName.toLowerCase(Locale.ROOT);
        }
    }
}
