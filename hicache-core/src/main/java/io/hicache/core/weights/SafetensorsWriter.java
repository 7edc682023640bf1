package io.hicache.core.weights;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes safetensors files the way the reference implementation does: header padded with spaces
 * to a multiple of 8 bytes, tensors stored contiguously in insertion order. The file appears
 * atomically (written under a temporary name, then renamed), so a reader never sees half a file.
 *
 * <p>Tensors can be added as NDArrays (bf16 included) or as raw bytes; a {@link Source} streams
 * bytes for files too large to hold in memory.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Streams the bytes of one tensor into the file. */
    @FunctionalInterface
    public interface Source {
        void writeTo(FileChannel out) throws IOException;
    }

    private static final class Entry {
        final TensorType type;
        final long[] shape;
        final long byteSize;
        final Source source;

        Entry(TensorType type, long[] shape, long byteSize, Source source) {
            this.type = type;
            this.shape = shape;
            this.byteSize = byteSize;
            this.source = source;
        }
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor in its own type (bf16 read through the kernels). */
    public SafetensorsWriter add(String name, NDArray x) {
        TensorType type = Precision.typeOf(x);
        byte[] bytes = x.toByteArray(); // raw little-endian bytes in x's own dtype, bf16 included
        return add(name, type, x.getShape().getShape(), ByteBuffer.wrap(bytes));
    }

    /** Adds a tensor converted to {@code type}. */
    public SafetensorsWriter add(String name, NDArray x, TensorType type) {
        NDArray converted = Precision.cast(x, type);
        try {
            return add(name, converted);
        } finally {
            if (converted != x) {
                converted.close();
            }
        }
    }

    /** Adds raw little-endian bytes; their size must equal shape × dtype. */
    public SafetensorsWriter add(String name, TensorType type, long[] shape, ByteBuffer bytes) {
        long expected = type.bytes();
        for (long d : shape) {
            expected = Math.multiplyExact(expected, d);
        }
        if (bytes.remaining() != expected) {
            throw new IllegalArgumentException(name + ": " + bytes.remaining() + " bytes, shape needs " + expected);
        }
        ByteBuffer copy = bytes.slice();
        return add(name, type, shape, expected, out -> {
            ByteBuffer b = copy.duplicate();
            while (b.hasRemaining()) {
                out.write(b);
            }
        });
    }

    /** Adds a tensor whose bytes {@code source} streams; {@code byteSize} must match shape × dtype. */
    public SafetensorsWriter add(String name, TensorType type, long[] shape, long byteSize, Source source) {
        if (name.equals("__metadata__")) {
            throw new IllegalArgumentException("__metadata__ is reserved");
        }
        if (entries.containsKey(name)) {
            throw new IllegalArgumentException("duplicate tensor name " + name);
        }
        entries.put(name, new Entry(type, shape.clone(), byteSize, source));
        return this;
    }

    /** The JSON header, unpadded. */
    byte[] header() {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            ObjectNode t = root.putObject(e.getKey());
            t.put("dtype", e.getValue().type.safetensorsName());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.getValue().shape) {
                shape.add(d);
            }
            ArrayNode offsets = t.putArray("data_offsets");
            offsets.add(offset);
            offset += e.getValue().byteSize;
            offsets.add(offset);
        }
        return root.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Writes the file atomically. */
    public void write(Path file) throws IOException {
        byte[] json = header();
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        AtomicFiles.write(file, out -> {
            while (head.hasRemaining()) {
                out.write(head);
            }
            for (Map.Entry<String, Entry> e : entries.entrySet()) {
                long before = out.position();
                e.getValue().source.writeTo(out);
                long written = out.position() - before;
                if (written != e.getValue().byteSize) {
                    throw new IOException(e.getKey() + ": source wrote " + written + " bytes, expected "
                            + e.getValue().byteSize);
                }
            }
        });
    }
}
