package io.hicache.core.shapes;

import java.util.Random;

/**
 * Draws Shapes samples from a seed: attributes uniform over the {@value ShapeAttributes#COMBINATIONS}
 * combinations, then the side and each centre coordinate jittered uniformly by up to
 * ±{@link ShapeScene#MAX_JITTER} px. {@link Random}'s sequence is fixed by its specification, so a seed
 * gives the same samples on every JVM.
 */
public final class ShapesGenerator {
    private static final PaletteColour[] COLOURS = PaletteColour.values();
    private static final ShapeKind[] SHAPES = ShapeKind.values();
    private static final ShapeSize[] SIZES = ShapeSize.values();
    private static final GridPosition[] POSITIONS = GridPosition.values();

    private final Random random;

    public ShapesGenerator(long seed) {
        this.random = new Random(seed);
    }

    /** The next sample of this generator's sequence. */
    public ShapeScene next() {
        return jittered(randomAttributes(random), random);
    }

    /** The first sample of {@code new ShapesGenerator(seed)}: one sample per seed. */
    public static ShapeScene sample(long seed) {
        return new ShapesGenerator(seed).next();
    }

    /** Attributes drawn uniformly; the shape colour uniform over the seven that are not the background. */
    public static ShapeAttributes randomAttributes(Random random) {
        PaletteColour background = COLOURS[random.nextInt(COLOURS.length)];
        PaletteColour colour = COLOURS[random.nextInt(COLOURS.length - 1)];
        if (colour.ordinal() >= background.ordinal()) {
            colour = COLOURS[colour.ordinal() + 1];
        }
        ShapeKind shape = SHAPES[random.nextInt(SHAPES.length)];
        ShapeSize size = SIZES[random.nextInt(SIZES.length)];
        GridPosition position = POSITIONS[random.nextInt(POSITIONS.length)];
        return new ShapeAttributes(size, colour, shape, position, background);
    }

    /** {@code attributes} drawn with the side and centre jittered by up to ±{@link ShapeScene#MAX_JITTER} px each. */
    public static ShapeScene jittered(ShapeAttributes attributes, Random random) {
        double side = attributes.size().nominalSide() + jitter(random);
        double centreX = attributes.position().centreX() + jitter(random);
        double centreY = attributes.position().centreY() + jitter(random);
        return new ShapeScene(attributes, side, centreX, centreY);
    }

    private static double jitter(Random random) {
        return (2 * random.nextDouble() - 1) * ShapeScene.MAX_JITTER;
    }
}
