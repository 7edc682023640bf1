package io.hicache.core.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.TensorAssert;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightStoreTest {
    @TempDir
    Path dir;

    NDManager m;
    NDArray a;
    NDArray b;
    NDArray c;

    @BeforeEach
    void setUp() throws IOException {
        m = NDManager.newBaseManager();
        a = m.randomNormal(new Shape(2, 3));
        b = m.randomNormal(new Shape(4));
        c = m.randomNormal(new Shape(5, 1));
        new SafetensorsWriter().add("enc.a", a).add("enc.b", b).write(dir.resolve("model-00001-of-00002.safetensors"));
        new SafetensorsWriter().add("dec.c", c).write(dir.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"metadata\":{\"total_size\":60},\"weight_map\":{"
                + "\"enc.a\":\"model-00001-of-00002.safetensors\",\"enc.b\":\"model-00001-of-00002.safetensors\","
                + "\"dec.c\":\"model-00002-of-00002.safetensors\"}}");
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    @Test
    void shardedCheckpointFromDirectoryOrIndex() throws IOException {
        for (Path p : List.of(dir, dir.resolve("model.safetensors.index.json"))) {
            try (WeightStore s = WeightStore.open(p)) {
                assertEquals(Set.of("enc.a", "enc.b", "dec.c"), s.names());
                TensorAssert.assertBitEqual(a, s.get("enc.a", m), "a");
                TensorAssert.assertBitEqual(c, s.get("dec.c", TensorType.F32, m), "c");
            }
        }
    }

    @Test
    void scopeStripsThePrefix() throws IOException {
        try (WeightStore s = WeightStore.open(dir)) {
            WeightStore enc = s.scope("enc.");
            assertEquals(Set.of("a", "b"), enc.names());
            TensorAssert.assertBitEqual(b, enc.get("b", m), "b");
            assertEquals(List.of("x"), enc.missing(List.of("a", "x")));
            assertEquals(List.of("b"), enc.unexpected(List.of("a")));
        }
    }

    @Test
    void verifyListsMissingUnexpectedAndWrongShapes() throws IOException {
        try (WeightStore s = WeightStore.open(dir)) {
            Map<String, long[]> expected = new LinkedHashMap<>();
            expected.put("enc.a", new long[] {3, 2});
            expected.put("enc.b", new long[] {4});
            expected.put("enc.z", new long[] {1});
            CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class, () -> s.verify(expected));
            assertEquals(List.of("enc.z"), e.missing());
            assertEquals(List.of("dec.c"), e.unexpected());
            assertEquals(1, e.wrongShapes().size());
            assertTrue(e.getMessage().contains("enc.a has shape [2, 3], expected [3, 2]"), e.getMessage());
            expected.remove("enc.z");
            expected.put("enc.a", new long[] {2, 3});
            expected.put("dec.c", new long[] {5, 1});
            s.verify(expected);
        }
    }

    @Test
    void missingShardIsNamed() throws IOException {
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> WeightStore.open(dir));
        assertTrue(e.getMessage().contains("model-00002-of-00002.safetensors"), e.getMessage());
    }

    @Test
    void indexNamingATensorTheShardLacksIsRejected() throws IOException {
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\":{\"enc.q\":\"model-00001-of-00002.safetensors\"}}");
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> WeightStore.open(dir));
        assertEquals("enc.q", e.tensor());
    }

    @Test
    void indexEscapingTheDirectoryIsRejected() throws IOException {
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\":{\"x\":\"../../etc/passwd\"}}");
        IOException e = assertThrows(IOException.class, () -> WeightStore.open(dir));
        assertTrue(e.getMessage().contains("outside"), e.getMessage());
    }

    @Test
    void duplicateTensorAcrossUnindexedShardsIsRejected() throws IOException {
        Files.delete(dir.resolve("model.safetensors.index.json"));
        new SafetensorsWriter().add("enc.a", a).write(dir.resolve("model-extra.safetensors"));
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> WeightStore.open(dir));
        assertEquals("enc.a", e.tensor());
    }

    @Test
    void mappedModeSharesTheFileAndPinsIt() throws IOException {
        try (WeightStore s = WeightStore.open(dir, WeightStore.LoadMode.MAP)) {
            NDArray x = s.get("enc.a", TensorType.F32, m);
            assertEquals(24, s.pinnedBytes(), "the f32 tensor is backed by the file");
            NDArray y = s.get("enc.a", TensorType.BF16, m);
            assertEquals(24, s.pinnedBytes(), "a converted tensor owns its memory");
            TensorAssert.assertBitEqual(a, x, "mapped");
            TensorAssert.assertClose(a, y, 0, 8e-3, "converted");
        }
    }

    @Test
    void closedStoreRefusesReads() throws IOException {
        WeightStore s = WeightStore.open(dir);
        s.close();
        assertThrows(IllegalStateException.class, () -> s.get("enc.a", m));
    }

    @Test
    void missingPathIsAClearError() {
        assertThrows(NoSuchFileException.class, () -> WeightStore.open(dir.resolve("nope")));
    }
}
