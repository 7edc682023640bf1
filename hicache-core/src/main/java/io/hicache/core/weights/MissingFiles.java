package io.hicache.core.weights;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a model folder lacks, collected as "what (where)" phrases so a backend can report every
 * missing file at once, before anything loads. Reads no weights.
 */
public final class MissingFiles {
    private final List<String> missing = new ArrayList<>();

    /** Notes {@code what} unless {@code file} is a regular file. */
    public MissingFiles file(Path file, String what) {
        if (!Files.isRegularFile(file)) {
            missing.add(what + " (" + file + ")");
        }
        return this;
    }

    /** Notes {@code what} unless {@code dir} holds a safetensors file (single or sharded). */
    public MissingFiles weights(Path dir, String what) throws IOException {
        if (!Files.isDirectory(dir)) {
            missing.add(what + " (" + dir + "/*.safetensors)");
            return this;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.safetensors*")) {
            if (!s.iterator().hasNext()) {
                missing.add(what + " (" + dir + "/*.safetensors)");
            }
        }
        return this;
    }

    /** Notes {@code what} as missing. */
    public MissingFiles add(String what) {
        missing.add(what);
        return this;
    }

    public List<String> list() {
        return List.copyOf(missing);
    }
}
