package io.hicache.core.pipeline;

import java.io.IOException;

/**
 * A model whose files are wrong: a config that is not valid or does not match its checkpoint, a
 * checkpoint that is not valid safetensors or does not hold what the config needs, a broken
 * tokenizer. The failure is deterministic, so loading again cannot succeed.
 */
public class InvalidModelException extends IOException {
    private static final long serialVersionUID = 1L;

    public InvalidModelException(String message) {
        super(message);
    }

    public InvalidModelException(String message, Throwable cause) {
        super(message, cause);
    }

    /** True when {@code t}, or an exception that caused it, says the model's files are wrong. */
    public static boolean isCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof InvalidModelException) {
                return true;
            }
        }
        return false;
    }
}
