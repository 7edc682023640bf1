package io.hicache.cli;

import io.hicache.core.pipeline.InvalidModelException;
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
        } else if (t instanceof FileSystemException && ((FileSystemException) t).getReason() == null) {
            // these name the file only ("hicache bench: out"): add what is wrong with it
            FileSystemException f = (FileSystemException) t;
            msg = (f.getOtherFile() == null ? f.getFile() : f.getFile() + " -> " + f.getOtherFile()) + ": "
                    + reason(f);
        } else if (t instanceof OutOfMemoryError) {
            msg = "out of memory: " + t.getMessage();
        } else {
            msg = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        }
        return msg.replace('\n', ' ').trim();
    }

    /** {@link #oneLine}, with {@code path} in front unless the message names it already. */
    static String about(Path path, Throwable e) {
        String msg = oneLine(e);
        return msg.contains(path.toString()) ? msg : path + ": " + msg;
    }

    private static String reason(FileSystemException e) {
        if (e instanceof FileAlreadyExistsException) {
            return "already exists";
        }
        if (e instanceof NotDirectoryException) {
            return "not a directory";
        }
        if (e instanceof DirectoryNotEmptyException) {
            return "directory not empty";
        }
        return "file system error (" + e.getClass().getSimpleName() + ")";
    }

    /** {@code s} cut to at most 60 characters, for quoting user text in messages. */
    static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    /**
     * True when a model load failed for a reason a second attempt cannot change: the model's files
     * are wrong or missing. Such a failure is reported, not retried.
     */
    static boolean isPermanentLoadFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof InvalidModelException || t instanceof NoSuchFileException) {
                return true;
            }
        }
        return false;
    }

    /**
     * True when {@code e} means memory ran out: the JVM's {@link OutOfMemoryError} (possibly as a
     * cause), libtorch's CUDA "out of memory" or its CPU allocator's "not enough memory".
     */
    static boolean isOutOfMemory(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = t.getMessage() == null ? "" : t.getMessage().toLowerCase(Locale.ROOT);
            if (t instanceof OutOfMemoryError || m.contains("out of memory") || m.contains("not enough memory")) {
                return true;
            }
        }
        return false;
    }

    /**
     * A failed write of {@code file} as one line naming it: the errors of a full disk or a file size
     * limit ("No space left on device", "File too large") name no file themselves.
     */
    static IOException cannotWrite(Path file, IOException e) {
        return new IOException("cannot write " + file + ": " + ioReason(e), e);
    }

    /** As {@link #cannotWrite}, for a failed read. */
    static IOException cannotRead(Path file, IOException e) {
        return new IOException("cannot read " + file + ": " + ioReason(e), e);
    }

    /** What went wrong, without the file names a {@link FileSystemException} puts in its message. */
    private static String ioReason(IOException e) {
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
