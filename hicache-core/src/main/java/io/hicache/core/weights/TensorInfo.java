package io.hicache.core.weights;

import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.TensorType;
import java.util.Arrays;

/** One tensor entry of a safetensors header, with offsets relative to the start of the data section. */
public final class TensorInfo {
    private final String name;
    private final TensorType type;
    private final long[] shape;
    private final long begin;
    private final long end;

    public TensorInfo(String name, TensorType type, long[] shape, long begin, long end) {
        this.name = name;
        this.type = type;
        this.shape = shape.clone();
        this.begin = begin;
        this.end = end;
    }

    public String name() {
        return name;
    }

    public TensorType type() {
        return type;
    }

    public long[] shapeArray() {
        return shape.clone();
    }

    public Shape shape() {
        return new Shape(shape);
    }

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public long begin() {
        return begin;
    }

    public long end() {
        return end;
    }

    public long byteSize() {
        return end - begin;
    }

    @Override
    public String toString() {
        return name + " " + type + Arrays.toString(shape);
    }
}
