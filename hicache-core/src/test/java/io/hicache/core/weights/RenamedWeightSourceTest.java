package io.hicache.core.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.TensorAssert;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RenamedWeightSourceTest {
    @TempDir
    Path dir;

    NDManager m;
    NDArray conv;
    NDArray bias;
    WeightStore store;

    @BeforeEach
    void setUp() throws IOException {
        m = NDManager.newBaseManager();
        conv = m.randomNormal(new Shape(3, 3, 1, 1));
        bias = m.randomNormal(new Shape(3));
        new SafetensorsWriter().add("attn.q.weight", conv).add("attn.q.bias", bias).add("dup.weight", bias)
                .write(dir.resolve("x.safetensors"));
        store = WeightStore.open(dir.resolve("x.safetensors"));
    }

    @AfterEach
    void tearDown() {
        store.close();
        m.close();
    }

    @Test
    void renamesReshapesAndHides() throws IOException {
        RenamedWeightSource s = RenamedWeightSource.over(store)
                .map("to_q.weight", "attn.q.weight", 3, 3)
                .map("to_q.bias", "attn.q.bias")
                .build();
        assertEquals(Set.of("to_q.bias", "to_q.weight"), s.names());
        assertFalse(s.contains("dup.weight"), "unmapped names are hidden");
        assertArrayEquals(new long[] {3, 3}, s.shape("to_q.weight"));
        assertEquals(TensorType.F32, s.type("to_q.weight"));
        assertEquals("attn.q.weight", s.sourceName("to_q.weight"));
        NDArray w = s.get("to_q.weight", TensorType.F32, m);
        TensorAssert.assertBitEqual(conv.reshape(3, 3), w, "squeezed kernel");
        TensorAssert.assertBitEqual(bias, s.get("to_q.bias", TensorType.F64, m), "renamed bias");

        Map<String, long[]> expected = new LinkedHashMap<>();
        expected.put("to_q.weight", new long[] {3, 3});
        expected.put("to_k.weight", new long[] {3, 3});
        CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class, () -> s.verify(expected));
        assertEquals(List.of("to_k.weight"), e.missing());
        assertEquals(List.of("to_q.bias"), e.unexpected());
    }

    @Test
    void badMappingsFailEarly() {
        RenamedWeightSource.Builder b = RenamedWeightSource.over(store);
        assertThrows(IllegalArgumentException.class, () -> b.map("a", "nope"));
        assertThrows(IllegalArgumentException.class, () -> b.map("a", "attn.q.weight", 2, 2));
        b.map("a", "attn.q.bias");
        assertThrows(IllegalArgumentException.class, () -> b.map("a", "dup.weight"));
    }
}
