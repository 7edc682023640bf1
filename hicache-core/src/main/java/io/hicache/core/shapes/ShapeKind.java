package io.hicache.core.shapes;

import java.util.Locale;

/** The four shapes of the Shapes task; the geometry is in {@link ShapeScene}. */
public enum ShapeKind {
    CIRCLE,
    SQUARE,
    TRIANGLE,
    STAR;

    /** The word the prompt grammar uses, e.g. {@code "star"}. */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }
}
