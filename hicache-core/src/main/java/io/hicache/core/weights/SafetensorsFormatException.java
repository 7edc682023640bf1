package io.hicache.core.weights;

import io.hicache.core.pipeline.InvalidModelException;
import java.nio.file.Path;

/** A checkpoint file that is not valid safetensors; names the file and, when known, the tensor. */
public class SafetensorsFormatException extends InvalidModelException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;
    private final String tensor;

    public SafetensorsFormatException(Path file, String tensor, String problem) {
        super(file + (tensor == null ? "" : ", tensor '" + tensor + "'") + ": " + problem);
        this.file = file;
        this.tensor = tensor;
    }

    public SafetensorsFormatException(Path file, String tensor, String problem, Throwable cause) {
        this(file, tensor, problem);
        initCause(cause);
    }

    public Path file() {
        return file;
    }

    /** The offending tensor, or null for file-level problems. */
    public String tensor() {
        return tensor;
    }
}
