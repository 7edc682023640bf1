package io.hicache.core.shapes;

/** The five attributes a Shapes prompt can name, in the order the grammar writes them. */
public enum ShapeAttribute {
    SIZE,
    COLOUR,
    SHAPE,
    POSITION,
    BACKGROUND
}
