package io.hicache.cli;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Converters for path options: an empty value (a script's unset variable) would otherwise mean the
 * current directory, so that {@code --output-dir ""} writes there and {@code --model-path ""} looks
 * there. Both are refused.
 */
final class PathArguments {
    private PathArguments() {}

    /** For every {@link Path} option and parameter (registered on the whole command tree). */
    static final class Paths implements ITypeConverter<Path> {
        @Override
        public Path convert(String value) {
            refuseBlank(value);
            try {
                return Path.of(value);
            } catch (InvalidPathException e) {
                throw new TypeConversionException("'" + value + "' is not a valid path: " + e.getReason());
            }
        }
    }

    /** For model options, which are paths or names such as {@code builtin:flux-tiny}. */
    static final class ModelPath implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            refuseBlank(value);
            return value;
        }
    }

    /** Refuses an input file that is a directory (reading one fails with a bare "Is a directory"). */
    static void requireFile(String option, Path file) {
        if (Files.isDirectory(file)) {
            throw new UsageException(option + ": " + file + " is a directory, not a file");
        }
    }

    /** Refuses an output file that would replace a directory, or whose folder cannot be made. */
    static void requireWritableFile(String option, Path file) {
        if (Files.isDirectory(file)) {
            throw new UsageException(option + ": " + file + " is a directory; give a file name");
        }
        requireFolderPossible(option, file);
    }

    /** Refuses an output directory that is a file, or that cannot be made because a file is in the way. */
    static void requireDirectory(String option, Path dir) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new UsageException(option + ": " + dir + " exists and is not a directory");
        }
        requireFolderPossible(option, dir);
    }

    /** The nearest existing ancestor of {@code path} must be a directory, or {@code path} can never be made. */
    private static void requireFolderPossible(String option, Path path) {
        for (Path p = path.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
            if (Files.exists(p)) {
                if (!Files.isDirectory(p)) {
                    throw new UsageException(option + ": cannot make " + path + ": " + p + " is not a directory");
                }
                return;
            }
        }
    }

    private static void refuseBlank(String value) {
        if (value.isBlank()) {
            throw new TypeConversionException("the path is empty");
        }
    }
}
