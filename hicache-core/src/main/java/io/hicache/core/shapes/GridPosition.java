package io.hicache.core.shapes;

/**
 * The nine places of the 3×3 grid, row by row from the top left, with the phrases of the prompt
 * grammar and the nominal centres (34, 64 or 94 px on each axis of the 128² image).
 */
public enum GridPosition {
    TOP_LEFT("in the top left corner"),
    TOP("at the top"),
    TOP_RIGHT("in the top right corner"),
    LEFT("on the left"),
    CENTER("in the center"),
    RIGHT("on the right"),
    BOTTOM_LEFT("in the bottom left corner"),
    BOTTOM("at the bottom"),
    BOTTOM_RIGHT("in the bottom right corner");

    private static final int[] CENTRES = {34, 64, 94};

    private final String phrase;

    GridPosition(String phrase) {
        this.phrase = phrase;
    }

    /** The phrase of the prompt grammar, e.g. {@code "in the top left corner"}. */
    public String phrase() {
        return phrase;
    }

    /** 0 = left, 1 = centre, 2 = right. */
    public int column() {
        return ordinal() % 3;
    }

    /** 0 = top, 1 = middle, 2 = bottom. */
    public int row() {
        return ordinal() / 3;
    }

    /** Nominal centre x in pixels. */
    public int centreX() {
        return CENTRES[column()];
    }

    /** Nominal centre y in pixels (y grows downwards). */
    public int centreY() {
        return CENTRES[row()];
    }

    /** The place at {@code column}, {@code row} (each 0..2). */
    public static GridPosition at(int column, int row) {
        if (column < 0 || column > 2 || row < 0 || row > 2) {
            throw new IllegalArgumentException("grid cell (" + column + ", " + row + ") outside 3x3");
        }
        return values()[3 * row + column];
    }
}
