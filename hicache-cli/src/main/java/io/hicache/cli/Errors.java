package io.hicache.cli;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
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

    /**
     * A failed write of {@code file} as one line naming it: the errors of a full disk or a file size
     * limit ("No space left on device", "File too large") name no file themselves.
     */
    static IOException cannotWrite(Path file, IOException e) {
        return new IOException("cannot write " + file + ": " + reason(e), e);
    }

    /** As {@link #cannotWrite}, for a failed read. */
    static IOException cannotRead(Path file, IOException e) {
        return new IOException("cannot read " + file + ": " + reason(e), e);
    }

    /** What went wrong, without the file names a {@link FileSystemException} puts in its message. */
    private static String reason(IOException e) {
        if (!(e instanceof FileSystemException)) {
            return oneLine(e);
        }
        if (((FileSystemException) e).getReason() != null) {
            return ((FileSystemException) e).getReason();
        } else if (e instanceof AccessDeniedException) {
            return "permission denied";
        } else if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        } else if (e instanceof DirectoryNotEmptyException) {
            return "a directory is in the way";
        } else if (e instanceof FileAlreadyExistsException) {
            return "something else is in the way";
        } else if (e instanceof NotDirectoryException) {
            return "not a directory";
        }
        return e.getClass().getSimpleName();
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
