package io.hicache.core.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A corpus of malformed files, each written byte by byte by this test. Every one must be rejected
 * with a {@link SafetensorsFormatException} that names the file (and the tensor where one is at
 * fault) — never an OOM, a JVM crash or a generic exception.
 */
class MalformedSafetensorsTest {
    @TempDir
    static Path dir;

    /** 8-byte little-endian length, then the header bytes, then data. */
    static byte[] file(long declaredHeaderLength, byte[] header, int dataBytes) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredHeaderLength).put(header);
        return b.array();
    }

    static byte[] file(String headerJson, int dataBytes) {
        byte[] h = headerJson.getBytes(StandardCharsets.UTF_8);
        return file(h.length, h, dataBytes);
    }

    static Arguments bad(String name, byte[] content, String messagePart, String tensor) {
        return Arguments.of(name, content, messagePart, tensor);
    }

    static Stream<Arguments> corpus() {
        List<Arguments> c = new ArrayList<>();
        String ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        c.add(bad("empty", new byte[0], "too short", null));
        c.add(bad("seven-bytes", new byte[7], "too short", null));
        c.add(bad("header-beyond-file", file(1000, "{}".getBytes(StandardCharsets.UTF_8), 0), "beyond the end", null));
        c.add(bad("header-length-negative", file(-5, new byte[0], 0), "limit", null));
        c.add(bad("header-length-max", file(Long.MAX_VALUE, new byte[0], 0), "limit", null));
        c.add(bad("header-over-100MB", file(100_000_001L, new byte[16], 0), "limit", null));
        c.add(bad("header-not-utf8", file(4, new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'}, 0), "UTF-8", null));
        c.add(bad("header-not-json", file("{\"a\": [1, 2", 0), "not valid JSON", null));
        c.add(bad("header-garbage", file("hello world", 0), "not valid JSON", null));
        c.add(bad("header-json-array", file("[1,2,3]", 0), "not a JSON object", null));
        c.add(bad("header-json-string", file("\"x\"", 0), "not a JSON object", null));
        c.add(bad("entry-not-object", file("{\"a\": 5}", 0), "not an object", "a"));
        c.add(bad("dtype-missing", file("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "dtype", "a"));
        c.add(bad("dtype-number", file("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "dtype", "a"));
        c.add(bad("dtype-unknown", file("{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "unsupported dtype Q4", "a"));
        c.add(bad("dtype-fp8-e4m3", file("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4), "FP8", "w"));
        c.add(bad("dtype-fp8-e5m2", file("{\"w\":{\"dtype\":\"F8_E5M2\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4), "FP8", "w"));
        c.add(bad("shape-missing", file("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "shape", "a"));
        c.add(bad("shape-not-array", file("{\"a\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", 16), "shape", "a"));
        c.add(bad("shape-negative", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1,4],\"data_offsets\":[0,16]}}", 16), "negative", "a"));
        c.add(bad("shape-float", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4), "non-integer", "a"));
        c.add(bad("shape-beyond-long", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4), "out-of-range", "a"));
        c.add(bad("shape-overflow", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4), "overflow", "a"));
        c.add(bad("shape-bytes-overflow", file("{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,8]}}", 8), "overflow", "a"));
        c.add(bad("huge-shape-small-data", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[100000,100000],\"data_offsets\":[0,4]}}", 4), "needs", "a"));
        c.add(bad("offsets-missing", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "data_offsets", "a"));
        c.add(bad("offsets-three", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8), "2 entries", "a"));
        c.add(bad("offsets-negative", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4), "invalid data_offsets", "a"));
        c.add(bad("offsets-reversed", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8), "invalid data_offsets", "a"));
        c.add(bad("offsets-out-of-bounds", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4), "out of bounds", "a"));
        c.add(bad("offsets-far-out-of-bounds", file("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[9223372036854775800,9223372036854775804]}}", 4), "out of bounds", "a"));
        c.add(bad("offsets-size-mismatch", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8), "needs 12", "a"));
        c.add(bad("offsets-overlap", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "overlaps", "b"));
        c.add(bad("duplicate-name", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "duplicate", null));
        c.add(bad("metadata-not-object", file("{\"__metadata__\":[1]," + ok.substring(1), 8), "__metadata__", null));
        c.add(bad("metadata-value-not-string", file("{\"__metadata__\":{\"k\":1}," + ok.substring(1), 8), "__metadata__", null));
        byte[] truncated = file(ok, 8);
        c.add(bad("truncated-data", java.util.Arrays.copyOf(truncated, truncated.length - 3), "out of bounds", "a"));
        return c.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void rejectedCleanly(String name, byte[] content, String messagePart, String tensor) throws IOException {
        Path p = dir.resolve(name + ".safetensors");
        Files.write(p, content);
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> {
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                f.names();
            }
        });
        assertTrue(e.getMessage().contains(p.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(messagePart), "says what is wrong (" + messagePart + "): " + e.getMessage());
        assertEquals(tensor, e.tensor(), "names the tensor: " + e.getMessage());
        if (tensor != null) {
            assertTrue(e.getMessage().contains("'" + tensor + "'"), e.getMessage());
        }
    }

    @ParameterizedTest(name = "{0} through WeightStore")
    @MethodSource("corpus")
    void rejectedByTheStoreToo(String name, byte[] content, String messagePart, String tensor) throws IOException {
        Path p = dir.resolve("store-" + name + ".safetensors");
        Files.write(p, content);
        assertThrows(SafetensorsFormatException.class, () -> WeightStore.open(p).close());
    }
}
