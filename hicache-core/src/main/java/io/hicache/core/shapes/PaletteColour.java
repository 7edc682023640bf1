package io.hicache.core.shapes;

import java.util.Locale;

/** The eight colours of the Shapes task (demo-model.md), with their exact sRGB values. */
public enum PaletteColour {
    RED(220, 38, 38),
    ORANGE(245, 130, 20),
    YELLOW(250, 210, 40),
    GREEN(34, 160, 70),
    BLUE(30, 80, 220),
    PURPLE(130, 50, 190),
    WHITE(245, 245, 245),
    BLACK(25, 25, 25);

    private final int red;
    private final int green;
    private final int blue;

    PaletteColour(int red, int green, int blue) {
        this.red = red;
        this.green = green;
        this.blue = blue;
    }

    public int red() {
        return red;
    }

    public int green() {
        return green;
    }

    public int blue() {
        return blue;
    }

    /** {@code 0xRRGGBB}. */
    public int rgb() {
        return red << 16 | green << 8 | blue;
    }

    /** The word the prompt grammar uses, e.g. {@code "red"}. */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Squared Euclidean RGB distance to {@code (r, g, b)}. */
    public int distanceSquared(int r, int g, int b) {
        int dr = r - red;
        int dg = g - green;
        int db = b - blue;
        return dr * dr + dg * dg + db * db;
    }

    /** The palette colour nearest to {@code (r, g, b)} in Euclidean RGB (the first one on a tie). */
    public static PaletteColour nearest(int r, int g, int b) {
        PaletteColour best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (PaletteColour c : values()) {
            int d = c.distanceSquared(r, g, b);
            if (d < bestDistance) {
                best = c;
                bestDistance = d;
            }
        }
        return best;
    }
}
