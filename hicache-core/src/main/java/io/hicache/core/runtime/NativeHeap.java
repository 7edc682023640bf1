package io.hicache.core.runtime;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;

/**
 * The C heap that libtorch's CPU tensors live in. On glibc, memory freed between images stays in
 * the process (the heap's top cannot shrink past live blocks, and freed large blocks raise the mmap
 * threshold so later tensors come from the heap), so the resident size of a long CPU run creeps up;
 * {@link #trim} hands the free pages back. Elsewhere (other C libraries, other systems) it does nothing.
 */
public final class NativeHeap {
    private interface GlibcMalloc extends Library {
        int malloc_trim(long pad);
    }

    private static final GlibcMalloc GLIBC = load();
    private static volatile boolean available = GLIBC != null;

    private NativeHeap() {}

    private static GlibcMalloc load() {
        if (!Platform.isLinux()) {
            return null;
        }
        try {
            return Native.load("c", GlibcMalloc.class);
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return null;
        }
    }

    /**
     * Returns the heap's free pages to the system (glibc's {@code malloc_trim(0)}); true when the
     * call exists here, whether or not it found pages to release.
     */
    public static boolean trim() {
        if (!available) {
            return false;
        }
        try {
            GLIBC.malloc_trim(0);
            return true;
        } catch (UnsatisfiedLinkError e) { // a C library without malloc_trim (musl)
            available = false;
            return false;
        }
    }
}
