package io.hicache.flux.text;

import ai.djl.ndarray.NDArray;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import java.util.Arrays;

/** Validation of token-id inputs, so a bad id fails in Java instead of inside libtorch. */
final class TextInputs {
    private TextInputs() {}

    /** Checks ids [B, L] of an integer type with 0 ≤ id < vocabSize and L ≤ maxLength; returns them flat. */
    static long[] checkIds(NDArray ids, int vocabSize, int maxLength) {
        long[] shape = ids.getShape().getShape();
        if (shape.length != 2 || shape[0] < 1 || shape[1] < 1) {
            throw new IllegalArgumentException("token ids must have shape [batch, length], got " + Arrays.toString(shape));
        }
        TensorType t = Precision.typeOf(ids);
        if (t != TensorType.I64 && t != TensorType.I32) {
            throw new IllegalArgumentException("token ids must be int64 or int32, got " + t);
        }
        if (shape[1] > maxLength) {
            throw new IllegalArgumentException("sequence of " + shape[1] + " tokens exceeds the model's " + maxLength + " positions");
        }
        long[] flat = t == TensorType.I64 ? ids.toLongArray() : Arrays.stream(ids.toIntArray()).asLongStream().toArray();
        for (long id : flat) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        return flat;
    }
}
