package io.hicache.core.nn;

import ai.djl.ndarray.NDArray;
import io.hicache.core.runtime.Precision;

/** Memory accounting of tensors (bf16 included). */
public final class TensorBytes {
    private TensorBytes() {}

    public static int elementSize(NDArray x) {
        return Precision.typeOf(x).bytes();
    }

    public static long of(NDArray x) {
        return x.getShape().size() * elementSize(x);
    }
}
