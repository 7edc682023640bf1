package io.hicache.core.shapes;

import java.util.Locale;

/** The two sizes of the Shapes task, by nominal side in pixels (drawn with up to ±4 px of jitter). */
public enum ShapeSize {
    SMALL(32),
    LARGE(60);

    private final int nominalSide;

    ShapeSize(int nominalSide) {
        this.nominalSide = nominalSide;
    }

    public int nominalSide() {
        return nominalSide;
    }

    /** The word the prompt grammar uses, e.g. {@code "small"}. */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }
}
