package io.hicache.core.shapes;

/**
 * What {@link ShapeChecker} read from an image with an object in it: the five attributes, and the
 * measurements they came from (centroid in pixels with pixel (i, j) centred at (i + ½, j + ½); the
 * inclusive bounding box in pixel indices; the object's pixel count). Unlike {@link ShapeAttributes}
 * the colour may equal the background: a model can draw anything.
 */
public record ShapeReading(
        ShapeSize size,
        PaletteColour colour,
        ShapeKind shape,
        GridPosition position,
        PaletteColour background,
        double centroidX,
        double centroidY,
        int minX,
        int minY,
        int maxX,
        int maxY,
        int pixels) {

    /** The value read for one attribute. */
    public Enum<?> get(ShapeAttribute attribute) {
        return switch (attribute) {
            case SIZE -> size;
            case COLOUR -> colour;
            case SHAPE -> shape;
            case POSITION -> position;
            case BACKGROUND -> background;
        };
    }

    /** Width of the bounding box in pixels. */
    public int boxWidth() {
        return maxX - minX + 1;
    }

    /** Height of the bounding box in pixels. */
    public int boxHeight() {
        return maxY - minY + 1;
    }
}
