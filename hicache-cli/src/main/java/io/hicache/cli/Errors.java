package io.hicache.cli;

import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.Locale;

/** Turns exceptions into the one line a user sees. */
final class Errors {
    private Errors() {}

    static String oneLine(Throwable e) {
        Throwable t = e;
        while ((t instanceof java.io.UncheckedIOException || t instanceof java.util.concurrent.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        String msg;
        if (t instanceof NoSuchFileException) {
            NoSuchFileException n = (NoSuchFileException) t;
            msg = "no such file: " + n.getFile() + (n.getReason() == null ? "" : " (" + n.getReason() + ")");
        } else if (t instanceof AccessDeniedException) {
            msg = "permission denied: " + ((AccessDeniedException) t).getFile();
        } else if (t instanceof OutOfMemoryError) {
            msg = "out of memory: " + t.getMessage();
        } else {
            msg = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        }
        return msg.replace('\n', ' ').trim();
    }

    static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = b;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
