package io.hicache.cli;

import io.hicache.core.runtime.NativeHeap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Between images, hands memory the finished image freed back to the system, so a long CPU run's
 * resident size stays flat: a Java collection (G1 otherwise spreads the garbage of tensor copies
 * over heap pages it never used before, and their direct buffers wait for it), then glibc's trim
 * of the C heap that libtorch's CPU tensors come from. Run after every image of the Shapes quick
 * start they cost about 0.05–0.1 s per image (measured), so they run at most once per
 * {@link #MIN_INTERVAL_NANOS} of generation, shared by all workers: after every image that takes
 * that long, and about 1 % of a run of quick images.
 */
final class MemoryRelease {
    static final long MIN_INTERVAL_NANOS = 10_000_000_000L;
    private static final AtomicLong LAST = new AtomicLong(System.nanoTime());

    private MemoryRelease() {}

    /** Releases if the last release was at least {@link #MIN_INTERVAL_NANOS} ago; true if it did. */
    static boolean afterImage() {
        long now = System.nanoTime();
        long last = LAST.get();
        if (now - last < MIN_INTERVAL_NANOS || !LAST.compareAndSet(last, now)) {
            return false;
        }
        System.gc();
        NativeHeap.trim();
        return true;
    }
}
