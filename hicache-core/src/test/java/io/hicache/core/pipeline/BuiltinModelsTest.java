package io.hicache.core.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BuiltinModelsTest {
    @TempDir
    Path home;
    String previous;

    @BeforeEach
    void setUp() {
        previous = System.getProperty("hicache.home");
        System.setProperty("hicache.home", home.toString());
    }

    @AfterEach
    void tearDown() {
        if (previous == null) {
            System.clearProperty("hicache.home");
        } else {
            System.setProperty("hicache.home", previous);
        }
    }

    @Test
    void writesOnceEvenWhenManyThreadsAskAtOnce() throws Exception {
        AtomicInteger writes = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Path>> results = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            results.add(pool.submit(() -> BuiltinModels.materialize("tiny", "v1", dir -> {
                writes.incrementAndGet();
                Files.writeString(dir.resolve("config.json"), "{}");
            })));
        }
        Path dir = results.get(0).get();
        for (Future<Path> f : results) {
            assertEquals(dir, f.get());
        }
        pool.shutdown();
        assertEquals(1, writes.get());
        assertTrue(Files.exists(dir.resolve("config.json")));
        try (var s = Files.list(dir.getParent())) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary directory left");
        }
    }

    @Test
    void aFailedWriteLeavesNothingAndIsRetried() throws IOException {
        assertThrows(IOException.class, () -> BuiltinModels.materialize("tiny", "v2", dir -> {
            Files.writeString(dir.resolve("half"), "x");
            throw new IOException("disk full");
        }));
        assertFalse(Files.exists(home.resolve("builtin/tiny-v2")));
        Path dir = BuiltinModels.materialize("tiny", "v2", d -> Files.writeString(d.resolve("ok"), "y"));
        assertTrue(Files.exists(dir.resolve("ok")));
        assertFalse(Files.exists(dir.resolve("half")));
    }

    @Test
    void namesAreRecognised() {
        assertTrue(BuiltinModels.isBuiltin("builtin:flux-tiny"));
        assertEquals("flux-tiny", BuiltinModels.name("builtin:flux-tiny"));
        assertFalse(BuiltinModels.isBuiltin("/models/FLUX.1-dev"));
    }

    @Test
    void aTruncatedOrCorruptedCachedFileIsDetectedAndWrittenAgain() throws IOException {
        AtomicInteger writes = new AtomicInteger();
        BuiltinModels.Writer writer = d -> {
            writes.incrementAndGet();
            Files.createDirectories(d.resolve("vae"));
            Files.writeString(d.resolve("vae/weights.bin"), "0123456789");
        };
        Path dir = BuiltinModels.materialize("tiny", "v3", writer);
        Path file = dir.resolve("vae/weights.bin");
        assertEquals(dir, BuiltinModels.materialize("tiny", "v3", writer));
        assertEquals(1, writes.get(), "an intact model is reused");

        Files.writeString(file, "01234"); // truncated
        assertEquals(dir, BuiltinModels.materialize("tiny", "v3", writer));
        assertEquals(2, writes.get());
        assertEquals("0123456789", Files.readString(file));

        Files.writeString(file, "0123X56789"); // same size, one byte changed
        BuiltinModels.materialize("tiny", "v3", writer);
        assertEquals(3, writes.get());
        assertEquals("0123456789", Files.readString(file));

        Files.delete(file);
        BuiltinModels.materialize("tiny", "v3", writer);
        assertEquals(4, writes.get());
        assertEquals("0123456789", Files.readString(file));
    }
}
