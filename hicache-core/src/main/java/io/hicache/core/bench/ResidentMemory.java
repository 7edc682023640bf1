package io.hicache.core.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The process's resident memory (native tensors included), read from {@code /proc/self/status};
 * a sampler records the peak while some work runs. Returns −1 where /proc is unavailable.
 */
public final class ResidentMemory implements AutoCloseable {
    private static final Path STATUS = Paths.get("/proc/self/status");
    private final AtomicLong peak = new AtomicLong(-1);
    private final Thread thread;
    private volatile boolean running = true;

    private ResidentMemory(long periodMillis) {
        thread = new Thread(() -> {
            while (running) {
                peak.accumulateAndGet(current(), Math::max);
                try {
                    Thread.sleep(periodMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "rss-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    /** Starts sampling every {@code periodMillis}. */
    public static ResidentMemory sample(long periodMillis) {
        return new ResidentMemory(periodMillis);
    }

    /** Resident set size now, in bytes (−1 when unknown). */
    public static long current() {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmRSS:")) {
                    String[] parts = line.trim().split("\\s+");
                    return Long.parseLong(parts[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** The highest value seen so far (including one final sample). */
    public long peak() {
        peak.accumulateAndGet(current(), Math::max);
        return peak.get();
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }
}
