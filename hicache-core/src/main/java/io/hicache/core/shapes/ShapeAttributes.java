package io.hicache.core.shapes;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Everything an image of the Shapes task shows: what the generator draws and what
 * {@link ShapeChecker} reads back. The shape's colour is never the background's.
 */
public record ShapeAttributes(
        ShapeSize size, PaletteColour colour, ShapeKind shape, GridPosition position, PaletteColour background) {

    /** 8 backgrounds · 7 shape colours · 4 shapes · 2 sizes · 9 positions. */
    public static final int COMBINATIONS = 8 * 7 * 4 * 2 * 9;

    public ShapeAttributes {
        Objects.requireNonNull(size, "size");
        Objects.requireNonNull(colour, "colour");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(position, "position");
        Objects.requireNonNull(background, "background");
        if (colour == background) {
            throw new IllegalArgumentException("shape colour and background are both " + colour.word());
        }
    }

    /** The value of one attribute: a {@link ShapeSize}, {@link PaletteColour}, {@link ShapeKind} or {@link GridPosition}. */
    public Enum<?> get(ShapeAttribute attribute) {
        return switch (attribute) {
            case SIZE -> size;
            case COLOUR -> colour;
            case SHAPE -> shape;
            case POSITION -> position;
            case BACKGROUND -> background;
        };
    }

    /** Every valid combination, once each, in a fixed order. */
    public static List<ShapeAttributes> all() {
        List<ShapeAttributes> all = new ArrayList<>(COMBINATIONS);
        for (PaletteColour background : PaletteColour.values()) {
            for (PaletteColour colour : PaletteColour.values()) {
                if (colour == background) {
                    continue;
                }
                for (ShapeKind shape : ShapeKind.values()) {
                    for (ShapeSize size : ShapeSize.values()) {
                        for (GridPosition position : GridPosition.values()) {
                            all.add(new ShapeAttributes(size, colour, shape, position, background));
                        }
                    }
                }
            }
        }
        return all;
    }
}
