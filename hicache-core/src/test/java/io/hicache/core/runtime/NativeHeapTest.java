package io.hicache.core.runtime;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.hicache.core.bench.ResidentMemory;
import org.junit.jupiter.api.Test;

class NativeHeapTest {
    private static final int BLOCK = 64 << 10; // below glibc's mmap threshold: served from the heap
    private static final int BLOCKS = 3200; // 200 MiB

    /**
     * The case trim exists for: heap blocks freed behind one that stays allocated remain resident
     * (free cannot shrink the heap past a live block); trim hands their pages back.
     */
    @Test
    void trimReturnsFreedHeapPagesBehindALiveBlock() {
        assumeTrue(NativeHeap.trim(), "glibc's malloc_trim is not available here");
        long[] blocks = new long[BLOCKS];
        for (int i = 0; i < BLOCKS; i++) {
            blocks[i] = Native.malloc(BLOCK);
            new Pointer(blocks[i]).setMemory(0, BLOCK, (byte) 1); // make the pages resident
        }
        for (int i = 0; i < BLOCKS - 1; i++) {
            Native.free(blocks[i]);
        }
        long before = ResidentMemory.current();
        assertTrue(NativeHeap.trim());
        long after = ResidentMemory.current();
        Native.free(blocks[BLOCKS - 1]);
        long releasedMiB = (before - after) >> 20;
        assertTrue(releasedMiB >= 150, "trim released " + releasedMiB + " MiB of 200 MiB freed");
    }
}
