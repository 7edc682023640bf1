package io.hicache.core.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.testing.TensorAssert;
import io.hicache.core.weights.SafetensorsWriter;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The precision policy keeps bf16 away from DJL calls that abort the JVM. If any call below handed
 * bf16 to such a DJL API, the forked test JVM would die with SIGABRT and the build would fail — so
 * this class passing is the proof, together with the source scan at the end.
 */
class PrecisionTest {
    @TempDir
    Path dir;

    @Test
    void unsafeTypesAreRefusedWithAJavaException() {
        assertFalse(Precision.isDjlSafe(TensorType.BF16));
        assertFalse(Precision.isDjlSafe(TensorType.I16));
        assertThrows(IllegalArgumentException.class, () -> Precision.djlType(TensorType.BF16));
        assertThrows(IllegalArgumentException.class, () -> Precision.djlType(TensorType.I16));
        for (TensorType t : TensorType.values()) {
            if (Precision.isDjlSafe(t)) {
                Precision.djlType(t);
            }
        }
    }

    @Test
    void everyCastBetweenEveryTypeIsSafe() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {0f, 1f, 2f, 3f}, new Shape(2, 2));
            for (TensorType from : TensorType.values()) {
                NDArray a = Precision.cast(x, from);
                assertEquals(from, Precision.typeOf(a));
                for (TensorType to : TensorType.values()) {
                    NDArray b = Precision.cast(a, to);
                    assertEquals(to, Precision.typeOf(b), from + "→" + to);
                    if (to != TensorType.BOOL && from != TensorType.BOOL) {
                        TensorAssert.assertBitEqual(x, Precision.toFloat32(b), from + "→" + to + " keeps small integers");
                    }
                }
            }
        }
    }

    @Test
    void loaderDeliversBf16FromEveryStoredType() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {-3f, 0.5f, 2f, 7f});
            SafetensorsWriter w = new SafetensorsWriter();
            for (TensorType t : TensorType.values()) {
                if (t != TensorType.BOOL && t != TensorType.U8) {
                    w.add(t.name(), x.round(), t);
                }
            }
            Path p = dir.resolve("all.safetensors");
            w.write(p);
            for (WeightStore.LoadMode mode : WeightStore.LoadMode.values()) {
                try (WeightStore s = WeightStore.open(p, mode)) {
                    for (String name : s.names()) {
                        NDArray y = s.get(name, TensorType.BF16, m);
                        assertEquals(TensorType.BF16, Precision.typeOf(y));
                        TensorAssert.assertClose(x.round(), y, 0, 0, name + " as bf16");
                        // the loaded bf16 tensor works with the ops models use
                        NDArray z = Kernels.of(y).silu(y.add(y)).matMul(y.reshape(4, 1));
                        assertEquals(TensorType.BF16, Precision.typeOf(z));
                    }
                }
            }
        }
    }

    /** Only the precision policy and the kernels may name bf16/int16 DJL types. */
    @Test
    void noOtherSourceNamesUnsafeDjlTypes() throws IOException {
        Path root = Paths.get("").toAbsolutePath().getParent();
        List<String> offenders = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(p -> p.toString().endsWith(".java"))
                    .filter(p -> p.toString().contains("/src/main/"))
                    .filter(p -> !p.getFileName().toString().equals("Precision.java"))
                    .forEach(p -> {
                        try {
                            String s = Files.readString(p);
                            if (s.contains("DataType.BFLOAT16") || s.contains("DataType.INT16")) {
                                offenders.add(root.relativize(p).toString());
                            }
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    });
        }
        assertTrue(offenders.isEmpty(), "unsafe DJL types named in " + offenders);
    }
}
