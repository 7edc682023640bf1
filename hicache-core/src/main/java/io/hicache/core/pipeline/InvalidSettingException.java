package io.hicache.core.pipeline;

/**
 * A backend-specific setting (see {@link Backend#configure}) with a malformed or out-of-range
 * value; {@link #key} names it in the backend's own naming, so a launcher can say where it came from.
 */
public final class InvalidSettingException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String key;

    public InvalidSettingException(String key, String message) {
        super(message);
        this.key = key;
    }

    /** The setting's key, e.g. {@code attn.top_keys}. */
    public String key() {
        return key;
    }
}
