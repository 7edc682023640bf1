package io.hicache.core.pipeline;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.Precision;
import io.hicache.core.weights.SafetensorsFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A float32 tensor on the Java heap: row-major data and a shape. Requests and results carry these
 * instead of NDArrays so they own no native memory and can cross threads and devices freely.
 */
public record HostTensor(long[] shape, float[] data) {
    public HostTensor {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        if (n != data.length) {
            throw new IllegalArgumentException(data.length + " values for shape " + Arrays.toString(shape));
        }
        shape = shape.clone();
    }

    /** A copy of {@code x} (any float dtype, bf16 included) on the heap. */
    public static HostTensor of(NDArray x) {
        NDArray f = Precision.toFloat32(x);
        try {
            return new HostTensor(x.getShape().getShape(), f.toFloatArray());
        } finally {
            if (f != x) {
                f.close();
            }
        }
    }

    /** Reads tensor {@code name} of a safetensors file (any float dtype) into f32 on the heap. */
    public static HostTensor read(SafetensorsFile file, String name) throws IOException {
        if (!file.contains(name)) {
            throw new IOException(file.path() + " has no tensor '" + name + "' (it has " + file.names() + ")");
        }
        if (!file.info(name).type().isFloatingPoint()) {
            throw new IOException(file.path() + ": tensor '" + name + "' is " + file.info(name).type()
                    + ", expected a float type");
        }
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            return of(file.tensor(name, m));
        }
    }

    /** The values as little-endian f32 bytes, e.g. for {@code SafetensorsWriter.add}. */
    public ByteBuffer littleEndianBytes() {
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        return b;
    }

    /** An f32 NDArray with these values on {@code manager}'s device. */
    public NDArray toNDArray(NDManager manager) {
        return manager.create(data, new Shape(shape));
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int axis) {
        return shape[axis < 0 ? shape.length + axis : axis];
    }

    /** Element {@code i} along the first axis, keeping that axis (size 1). */
    public HostTensor batchItem(int i) {
        if (shape.length == 0 || i < 0 || i >= shape[0]) {
            throw new IndexOutOfBoundsException("batch item " + i + " of " + Arrays.toString(shape));
        }
        int per = (int) (data.length / shape[0]);
        long[] s = shape.clone();
        s[0] = 1;
        return new HostTensor(s, Arrays.copyOfRange(data, i * per, (i + 1) * per));
    }

    @Override
    public String toString() {
        return "HostTensor" + Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HostTensor && Arrays.equals(shape, ((HostTensor) o).shape)
                && Arrays.equals(data, ((HostTensor) o).data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }
}
