package io.hicache.core.shapes;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * A Shapes prompt: the attributes it names, each {@code null} where the prompt leaves it out ("any
 * value"). The full grammar of demo-model.md is
 * {@code a {size} {colour} {shape} {position} on a {background} background}; a partial prompt drops
 * phrases, e.g. {@code a red star} or {@code a small blue circle on a white background}. A prompt
 * that leaves out the shape says {@code shape} in its place ({@code a large red shape at the top}).
 */
public record ShapePrompt(
        ShapeSize size, PaletteColour colour, ShapeKind shape, GridPosition position, PaletteColour background) {

    private static final String ANY_SHAPE = "shape";

    public ShapePrompt {
        if (colour != null && colour == background) {
            throw new IllegalArgumentException("shape colour and background are both " + colour.word());
        }
    }

    /** The prompt that names every attribute. */
    public static ShapePrompt of(ShapeAttributes a) {
        return new ShapePrompt(a.size(), a.colour(), a.shape(), a.position(), a.background());
    }

    /** The prompt that names only {@code named} of {@code a}'s attributes. */
    public static ShapePrompt of(ShapeAttributes a, Set<ShapeAttribute> named) {
        return new ShapePrompt(
                named.contains(ShapeAttribute.SIZE) ? a.size() : null,
                named.contains(ShapeAttribute.COLOUR) ? a.colour() : null,
                named.contains(ShapeAttribute.SHAPE) ? a.shape() : null,
                named.contains(ShapeAttribute.POSITION) ? a.position() : null,
                named.contains(ShapeAttribute.BACKGROUND) ? a.background() : null);
    }

    /** The attribute's value, or {@code null} when this prompt leaves it out. */
    public Enum<?> get(ShapeAttribute attribute) {
        return switch (attribute) {
            case SIZE -> size;
            case COLOUR -> colour;
            case SHAPE -> shape;
            case POSITION -> position;
            case BACKGROUND -> background;
        };
    }

    /** The attributes this prompt names. */
    public Set<ShapeAttribute> named() {
        Set<ShapeAttribute> named = EnumSet.noneOf(ShapeAttribute.class);
        for (ShapeAttribute attribute : ShapeAttribute.values()) {
            if (get(attribute) != null) {
                named.add(attribute);
            }
        }
        return named;
    }

    /** Whether {@code image} shows {@code attribute} as this prompt names it; false when the prompt leaves it out. */
    public boolean holds(ShapeAttribute attribute, ShapeAttributes image) {
        Enum<?> wanted = get(attribute);
        return wanted != null && wanted == image.get(attribute);
    }

    /** The prompt text: lower case, single spaces, exactly the grammar (always the article "a"). */
    public String text() {
        StringBuilder s = new StringBuilder("a");
        if (size != null) {
            s.append(' ').append(size.word());
        }
        if (colour != null) {
            s.append(' ').append(colour.word());
        }
        s.append(' ').append(shape != null ? shape.word() : ANY_SHAPE);
        if (position != null) {
            s.append(' ').append(position.phrase());
        }
        if (background != null) {
            s.append(" on a ").append(background.word()).append(" background");
        }
        return s.toString();
    }

    @Override
    public String toString() {
        return text();
    }

    /**
     * Reads prompt text back into the attributes it names; empty when the text is not a (full or
     * partial) prompt of the grammar, i.e. cannot be graded. Case, runs of white space, a final full
     * stop and "an" for "a" are tolerated, since people type prompts; nothing else is.
     */
    public static Optional<ShapePrompt> parse(String text) {
        String normal = text.strip().toLowerCase(Locale.ROOT).replaceAll("\\s+", " ");
        if (normal.endsWith(".")) {
            normal = normal.substring(0, normal.length() - 1).stripTrailing();
        }
        Cursor c = new Cursor(normal);
        if (!c.article()) {
            return Optional.empty();
        }
        ShapeSize size = c.word(ShapeSize.values(), ShapeSize::word);
        PaletteColour colour = c.word(PaletteColour.values(), PaletteColour::word);
        ShapeKind shape = c.word(ShapeKind.values(), ShapeKind::word);
        if (shape == null && !c.phrase(ANY_SHAPE)) {
            return Optional.empty();
        }
        GridPosition position = c.word(GridPosition.values(), GridPosition::phrase);
        PaletteColour background = null;
        if (c.phrase("on")) {
            if (!c.article()) {
                return Optional.empty();
            }
            background = c.word(PaletteColour.values(), PaletteColour::word);
            if (background == null || !c.phrase("background")) {
                return Optional.empty();
            }
        }
        if (!c.atEnd() || (colour != null && colour == background)) {
            return Optional.empty();
        }
        return Optional.of(new ShapePrompt(size, colour, shape, position, background));
    }

    /** Reads whole space-separated phrases off the front of normalised text. */
    private static final class Cursor {
        private final String text;
        private int at;

        Cursor(String text) {
            this.text = text;
        }

        boolean phrase(String phrase) {
            int end = at + phrase.length();
            if (text.startsWith(phrase, at) && (end == text.length() || text.charAt(end) == ' ')) {
                at = end == text.length() ? end : end + 1;
                return true;
            }
            return false;
        }

        boolean article() {
            return phrase("a") || phrase("an");
        }

        <T> T word(T[] values, Function<T, String> words) {
            for (T value : values) {
                if (phrase(words.apply(value))) {
                    return value;
                }
            }
            return null;
        }

        boolean atEnd() {
            return at == text.length();
        }
    }
}
