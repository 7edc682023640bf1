package io.hicache.core.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.TensorAssert;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    NDManager m;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A file laid out by hand from the format description, independent of our writer. */
    @Test
    void readsAHandWrittenFileOfEveryDtype() throws IOException {
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"f64\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"f32\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[16,24]},"
                + "\"f16\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[24,28]},"
                + "\"bf16\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[28,36]},"
                + "\"i64\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[36,44]},"
                + "\"i32\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[44,52]},"
                + "\"i16\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[52,56]},"
                + "\"i8\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[56,58]},"
                + "\"u8\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[58,60]},"
                + "\"bool\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[60,62]},"
                + "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[62,62]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer data = le(62);
        data.putDouble(-1.25).putDouble(1e100);
        data.putFloat(3.5f).putFloat(-0.1f);
        data.putShort((short) 0x3C00).putShort((short) 0xC000); // f16 1.0, -2.0
        data.putShort((short) 0x3F80).putShort((short) 0xC000).putShort((short) 0x3EC7).putShort((short) 0x0001); // bf16 1, -2, 0.388671875, smallest subnormal
        data.putLong(-9_000_000_000L);
        data.putInt(7).putInt(-8);
        data.putShort((short) -300).putShort((short) 32767);
        data.put((byte) -7).put((byte) 100);
        data.put((byte) 200).put((byte) 1);
        data.put((byte) 1).put((byte) 0);
        ByteBuffer all = le(8 + h.length + 62);
        all.putLong(h.length).put(h).put(data.array());
        Path p = dir.resolve("hand.safetensors");
        Files.write(p, all.array());

        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertEquals(11, f.names().size());
            assertArrayEquals(new double[] {-1.25, 1e100}, f.tensor("f64", m).toDoubleArray());
            assertArrayEquals(new float[] {3.5f, -0.1f}, f.tensor("f32", m).toFloatArray());
            assertArrayEquals(new long[] {1, 2}, f.tensor("f32", m).getShape().getShape());
            assertArrayEquals(new float[] {1f, -2f}, f.tensor("f16", m).toType(DataType.FLOAT32, false).toFloatArray());
            NDArray bf = f.tensor("bf16", m);
            assertEquals(TensorType.BF16, Precision.typeOf(bf));
            assertArrayEquals(new float[] {1f, -2f, 0.388671875f, Float.intBitsToFloat(0x00010000)},
                    Precision.toFloat32(bf).toFloatArray());
            assertArrayEquals(new long[] {-9_000_000_000L}, f.tensor("i64", m).toLongArray());
            assertArrayEquals(new int[] {7, -8}, f.tensor("i32", m).toIntArray());
            NDArray i16 = f.tensor("i16", m);
            assertEquals(TensorType.I16, Precision.typeOf(i16));
            assertArrayEquals(new int[] {-300, 32767}, Kernels.of(i16).cast(i16, TensorType.I32).toIntArray());
            assertArrayEquals(new byte[] {-7, 100}, f.tensor("i8", m).toByteArray());
            assertArrayEquals(new byte[] {(byte) 200, 1}, f.tensor("u8", m).toByteArray());
            assertArrayEquals(new boolean[] {true, false}, f.tensor("bool", m).toBooleanArray());
            assertArrayEquals(new long[] {0, 3}, f.tensor("empty", m).getShape().getShape());
            assertArrayEquals(new float[] {1f, -2f, 0.388671875f, Float.intBitsToFloat(0x00010000)},
                    f.tensor("bf16", TensorType.F32, m).toFloatArray());
        }
    }

    @Test
    void writerPadsHeaderAndRoundTripsEveryDtype() throws IOException {
        NDArray x = m.randomNormal(new Shape(3, 5));
        NDArray bf = Precision.cast(x, TensorType.BF16);
        Path p = dir.resolve("w.safetensors");
        new SafetensorsWriter()
                .metadata("who", "test")
                .add("x", x)
                .add("x_bf16", bf)
                .add("x_f16", x, TensorType.F16)
                .add("ids", m.create(new long[] {1, 2, 3}))
                .add("mask", m.create(new boolean[] {true, false}))
                .write(p);

        byte[] raw = Files.readAllBytes(p);
        long headerLen = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLen % 8, "header padded to 8");
        assertEquals(' ', (char) raw[(int) (8 + headerLen - 1)], "padding is spaces");
        assertTrue(Files.list(dir).allMatch(q -> !q.getFileName().toString().contains(".tmp-")), "no temp file left");

        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals("test", f.metadata().get("who"));
            TensorAssert.assertBitEqual(x, f.tensor("x", m), "f32");
            TensorAssert.assertBitEqual(bf, f.tensor("x_bf16", m), "bf16");
            assertEquals(TensorType.BF16, f.info("x_bf16").type());
            assertEquals(TensorType.F16, f.info("x_f16").type());
            TensorAssert.assertClose(x, f.tensor("x_f16", TensorType.F32, m), 2e-3, 1e-3, "f16");
            assertArrayEquals(new long[] {1, 2, 3}, f.tensor("ids", m).toLongArray());
            assertArrayEquals(new boolean[] {true, false}, f.tensor("mask", m).toBooleanArray());
        }
    }

    @Test
    void failedWriteLeavesNoFileBehind() throws IOException {
        Path p = dir.resolve("never.safetensors");
        SafetensorsWriter w = new SafetensorsWriter().add("a", TensorType.F32, new long[] {4}, 16, out -> {
            throw new IOException("disk on fire");
        });
        assertThrows(IOException.class, () -> w.write(p));
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count(), "neither the target nor a temporary file exists");
        }
    }

    @Test
    void convertsBetweenStoredAndRequestedTypes() throws IOException {
        NDArray x = m.randomNormal(new Shape(4, 6));
        Path p = dir.resolve("c.safetensors");
        new SafetensorsWriter().add("f32", x).add("bf16", x, TensorType.BF16).add("f16", x, TensorType.F16).write(p);
        NDArray xBf = Precision.cast(x, TensorType.BF16);
        try (WeightStore s = WeightStore.open(p)) {
            for (String name : new String[] {"f32", "bf16", "f16"}) {
                for (TensorType t : new TensorType[] {TensorType.F32, TensorType.BF16}) {
                    NDArray y = s.get(name, t, m);
                    assertEquals(t, Precision.typeOf(y), name + "→" + t);
                    double tol = name.equals("f32") && t == TensorType.F32 ? 0 : 8e-3;
                    TensorAssert.assertClose(x, y, 0, tol * 2, name + "→" + t);
                }
            }
            // bf16 stored → bf16 requested is exact
            TensorAssert.assertBitEqual(xBf, s.get("bf16", TensorType.BF16, m), "bf16 exact");
        }
    }
}
