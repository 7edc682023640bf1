package io.hicache.core.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A memory-mapped safetensors file with a strictly validated header.
 *
 * <p>Opening reads only the 8-byte length and the header; tensor bytes are mapped on demand, one
 * region per tensor, so files of any size (FLUX shards are ~10 GB) open in milliseconds and nothing
 * is copied whole. Every problem — truncated file, header longer than the file or than
 * {@value #MAX_HEADER_BYTES} bytes, invalid UTF-8 or JSON, unknown or FP8 dtype, negative or
 * overflowing shapes, offsets out of bounds, overlapping or not matching shape × dtype, duplicate
 * names — raises a {@link SafetensorsFormatException} naming the file and tensor before any large
 * allocation happens.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Headers above this size are refused (the reference implementation's limit). */
    public static final long MAX_HEADER_BYTES = 100L * 1000 * 1000;

    private static final ObjectMapper STRICT_JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    static {
        STRICT_JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxStringLength(Integer.MAX_VALUE).maxNestingDepth(64).build());
    }

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart,
            Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens and validates {@code path}. */
    public static SafetensorsFile open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long size = ch.size();
            if (size < 8) {
                throw new SafetensorsFormatException(path, null,
                        "file is " + size + " bytes, too short for the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen < 0 || headerLen > MAX_HEADER_BYTES) {
                throw new SafetensorsFormatException(path, null, "header length " + Long.toUnsignedString(headerLen)
                        + " is over the " + MAX_HEADER_BYTES + "-byte limit");
            }
            if (8 + headerLen > size) {
                throw new SafetensorsFormatException(path, null, "header length " + headerLen
                        + " goes beyond the end of the " + size + "-byte file");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
            header.flip();
            long dataStart = 8 + headerLen;
            Parsed parsed = parseHeader(path, header, size - dataStart);
            return new SafetensorsFile(path, ch, dataStart, parsed.tensors, parsed.metadata);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position) throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
            pos += n;
        }
    }

    static final class Parsed {
        final Map<String, TensorInfo> tensors;
        final Map<String, String> metadata;

        Parsed(Map<String, TensorInfo> tensors, Map<String, String> metadata) {
            this.tensors = tensors;
            this.metadata = metadata;
        }
    }

    /** Validates a header against a data section of {@code dataSize} bytes. */
    static Parsed parseHeader(Path path, ByteBuffer header, long dataSize) throws SafetensorsFormatException {
        String json;
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(header);
            json = chars.toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsFormatException(path, null, "header is not valid UTF-8", e);
        }
        JsonNode root;
        try {
            root = STRICT_JSON.readTree(json);
        } catch (JsonParseException e) {
            String msg = e.getOriginalMessage();
            throw new SafetensorsFormatException(path, null,
                    msg != null && msg.startsWith("Duplicate field")
                            ? "duplicate tensor name in header: " + msg
                            : "header is not valid JSON: " + msg, e);
        } catch (IOException e) {
            throw new SafetensorsFormatException(path, null, "header is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsFormatException(path, null, "header is not a JSON object");
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            if (name.equals("__metadata__")) {
                metadata = parseMetadata(path, e.getValue());
                continue;
            }
            tensors.put(name, parseEntry(path, name, e.getValue(), dataSize));
        }
        checkNoOverlap(path, tensors.values());
        return new Parsed(Collections.unmodifiableMap(tensors), metadata);
    }

    private static Map<String, String> parseMetadata(Path path, JsonNode node) throws SafetensorsFormatException {
        if (!node.isObject()) {
            throw new SafetensorsFormatException(path, null, "__metadata__ is not an object of strings");
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new SafetensorsFormatException(path, null,
                        "__metadata__ value of '" + e.getKey() + "' is not a string");
            }
            m.put(e.getKey(), e.getValue().asText());
        }
        return Collections.unmodifiableMap(m);
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode node, long dataSize)
            throws SafetensorsFormatException {
        if (!node.isObject()) {
            throw new SafetensorsFormatException(path, name, "entry is not an object");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new SafetensorsFormatException(path, name, "missing or non-string dtype");
        }
        String dtypeName = dtypeNode.asText();
        TensorType type = TensorType.fromSafetensors(dtypeName);
        if (type == null) {
            throw new SafetensorsFormatException(path, name, "unsupported dtype " + dtypeName
                    + (dtypeName.startsWith("F8") ? " (FP8 checkpoints are not supported; use a bf16/f16/f32 checkpoint)" : ""));
        }
        long[] shape = longArray(path, name, node.get("shape"), "shape", -1);
        long numel = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new SafetensorsFormatException(path, name, "negative dimension in shape");
            }
            try {
                numel = Math.multiplyExact(numel, d);
            } catch (ArithmeticException e) {
                throw new SafetensorsFormatException(path, name, "shape element count overflows");
            }
        }
        long[] offsets = longArray(path, name, node.get("data_offsets"), "data_offsets", 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin < 0 || end < begin) {
            throw new SafetensorsFormatException(path, name, "invalid data_offsets [" + begin + ", " + end + "]");
        }
        if (end > dataSize) {
            throw new SafetensorsFormatException(path, name, "data_offsets [" + begin + ", " + end
                    + "] out of bounds of the " + dataSize + "-byte data section");
        }
        long expected;
        try {
            expected = Math.multiplyExact(numel, (long) type.bytes());
        } catch (ArithmeticException e) {
            throw new SafetensorsFormatException(path, name, "byte size overflows");
        }
        if (end - begin != expected) {
            throw new SafetensorsFormatException(path, name, "data_offsets span " + (end - begin)
                    + " bytes but shape × dtype needs " + expected);
        }
        return new TensorInfo(name, type, shape, begin, end);
    }

    private static long[] longArray(Path path, String name, JsonNode node, String field, int requiredLength)
            throws SafetensorsFormatException {
        if (node == null || !node.isArray()) {
            throw new SafetensorsFormatException(path, name, "missing or non-array " + field);
        }
        if (requiredLength >= 0 && node.size() != requiredLength) {
            throw new SafetensorsFormatException(path, name, field + " must have " + requiredLength + " entries");
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw new SafetensorsFormatException(path, name, field + " holds a non-integer or out-of-range value " + v);
            }
            out[i] = v.asLong();
        }
        return out;
    }

    private static void checkNoOverlap(Path path, Iterable<TensorInfo> infos) throws SafetensorsFormatException {
        List<TensorInfo> sorted = new ArrayList<>();
        infos.forEach(sorted::add);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            if (t.byteSize() == 0) {
                continue;
            }
            if (prev != null && t.begin() < prev.end()) {
                throw new SafetensorsFormatException(path, t.name(),
                        "data overlaps tensor '" + prev.name() + "'");
            }
            prev = t;
        }
    }

    public Path path() {
        return path;
    }

    /** Tensor names in header order. */
    public Set<String> names() {
        return tensors.keySet();
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** Header entry of {@code name}. */
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException(path + " has no tensor '" + name + "'");
        }
        return t;
    }

    /** The {@code __metadata__} map (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * The tensor's bytes as a read-only little-endian buffer mapped from the file (no copy).
     *
     * @throws SafetensorsFormatException for a single tensor over 2 GiB (a Java mapping limit)
     */
    public ByteBuffer bytes(String name) throws IOException {
        TensorInfo t = info(name);
        if (t.byteSize() > Integer.MAX_VALUE) {
            throw new SafetensorsFormatException(path, name, "tensors over 2 GiB are not supported");
        }
        if (t.byteSize() == 0) {
            return ByteBuffer.allocateDirect(0).order(ByteOrder.LITTLE_ENDIAN);
        }
        MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), t.byteSize());
        return mapped.order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * {@code length} bytes of the tensor starting {@code offset} bytes into it, mapped (no copy);
     * lets callers walk tensors larger than 2 GiB slice by slice (e.g. one step of a trajectory).
     */
    public ByteBuffer bytes(String name, long offset, long length) throws IOException {
        TensorInfo t = info(name);
        if (offset < 0 || length < 0 || offset + length > t.byteSize()) {
            throw new IllegalArgumentException("byte range [" + offset + ", " + (offset + length)
                    + ") outside tensor '" + name + "' of " + t.byteSize() + " bytes");
        }
        if (length > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("slices over 2 GiB are not supported");
        }
        if (length == 0) {
            return ByteBuffer.allocateDirect(0).order(ByteOrder.LITTLE_ENDIAN);
        }
        return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin() + offset, length)
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * The tensor in its stored type. Types DJL accepts are backed by the mapped file (read-only:
     * never modify such a tensor in place); bf16/int16 are copied once into an owned tensor.
     */
    public NDArray tensor(String name, NDManager manager) throws IOException {
        TensorInfo t = info(name);
        return Kernels.on(manager.getDevice()).fromBytes(bytes(name), t.type(), t.shape(), manager);
    }

    /** The tensor converted to {@code type} (an owned tensor unless no conversion is needed). */
    public NDArray tensor(String name, TensorType type, NDManager manager) throws IOException {
        NDArray stored = tensor(name, manager);
        NDArray converted = Precision.cast(stored, type);
        if (converted != stored) {
            stored.close();
        }
        return converted;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
