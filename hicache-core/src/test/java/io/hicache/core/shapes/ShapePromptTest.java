package io.hicache.core.shapes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ShapePromptTest {
    @Test
    void fullPromptIsTheDocsExample() {
        ShapeAttributes a = new ShapeAttributes(
                ShapeSize.LARGE, PaletteColour.RED, ShapeKind.STAR, GridPosition.TOP_LEFT, PaletteColour.BLUE);
        assertEquals("a large red star in the top left corner on a blue background", ShapePrompt.of(a).text());
    }

    @Test
    void positionPhrasesRowByRowFromTheTopLeft() {
        assertEquals(List.of("in the top left corner", "at the top", "in the top right corner",
                        "on the left", "in the center", "on the right",
                        "in the bottom left corner", "at the bottom", "in the bottom right corner"),
                Arrays.stream(GridPosition.values()).map(GridPosition::phrase).toList());
        assertEquals(GridPosition.BOTTOM_LEFT, GridPosition.at(0, 2));
        assertEquals(94, GridPosition.BOTTOM_LEFT.centreY());
        assertEquals(34, GridPosition.BOTTOM_LEFT.centreX());
    }

    @Test
    void wordsAreThePalettesAndShapes() {
        assertEquals(List.of("red", "orange", "yellow", "green", "blue", "purple", "white", "black"),
                Arrays.stream(PaletteColour.values()).map(PaletteColour::word).toList());
        assertEquals(List.of("circle", "square", "triangle", "star"),
                Arrays.stream(ShapeKind.values()).map(ShapeKind::word).toList());
        assertEquals(0xDC2626, PaletteColour.RED.rgb());
        assertEquals(30 << 16 | 80 << 8 | 220, PaletteColour.BLUE.rgb());
    }

    @Test
    void partialPromptsAsTheDocWritesThem() {
        ShapeAttributes a = new ShapeAttributes(
                ShapeSize.SMALL, PaletteColour.BLUE, ShapeKind.CIRCLE, GridPosition.RIGHT, PaletteColour.WHITE);
        assertEquals("a small blue circle on a white background", ShapePrompt.of(a,
                EnumSet.of(ShapeAttribute.SIZE, ShapeAttribute.COLOUR, ShapeAttribute.SHAPE, ShapeAttribute.BACKGROUND)).text());
        assertEquals("a blue circle", ShapePrompt.of(a, EnumSet.of(ShapeAttribute.COLOUR, ShapeAttribute.SHAPE)).text());
        assertEquals("a small shape on the right", ShapePrompt.of(a, EnumSet.of(ShapeAttribute.SIZE, ShapeAttribute.POSITION)).text());
        assertEquals("a shape", ShapePrompt.of(a, EnumSet.noneOf(ShapeAttribute.class)).text());
    }

    @Test
    void parsesTheDocsPartialExamples() {
        assertEquals(new ShapePrompt(null, PaletteColour.RED, ShapeKind.STAR, null, null),
                ShapePrompt.parse("a red star").orElseThrow());
        ShapePrompt p = ShapePrompt.parse("a small blue circle on a white background").orElseThrow();
        assertEquals(new ShapePrompt(ShapeSize.SMALL, PaletteColour.BLUE, ShapeKind.CIRCLE, null, PaletteColour.WHITE), p);
        assertEquals(EnumSet.of(ShapeAttribute.SIZE, ShapeAttribute.COLOUR, ShapeAttribute.SHAPE, ShapeAttribute.BACKGROUND),
                p.named());
    }

    /** Every full prompt, and every subset of every attribute for a sample of them, reads back as written. */
    @Test
    void textAndParseRoundTrip() {
        List<ShapeAttributes> all = ShapeAttributes.all();
        for (ShapeAttributes a : all) {
            assertEquals(Optional.of(ShapePrompt.of(a)), ShapePrompt.parse(ShapePrompt.of(a).text()));
        }
        for (int i = 0; i < all.size(); i += 97) {
            for (int mask = 0; mask < 32; mask++) {
                Set<ShapeAttribute> named = EnumSet.noneOf(ShapeAttribute.class);
                for (ShapeAttribute attribute : ShapeAttribute.values()) {
                    if ((mask >> attribute.ordinal() & 1) != 0) {
                        named.add(attribute);
                    }
                }
                ShapePrompt p = ShapePrompt.of(all.get(i), named);
                assertEquals(named, p.named());
                assertEquals(Optional.of(p), ShapePrompt.parse(p.text()), p.text());
            }
        }
    }

    @Test
    void toleratesWhatPeopleType() {
        ShapePrompt p = new ShapePrompt(null, PaletteColour.ORANGE, ShapeKind.SQUARE, GridPosition.CENTER, PaletteColour.BLACK);
        assertEquals(Optional.of(p), ShapePrompt.parse("  An Orange   square in the center on an BLACK background. "));
        assertEquals(Optional.of(p), ShapePrompt.parse("a orange square in the center on a black background"));
    }

    @Test
    void textOutsideTheGrammarIsNotGradable() {
        for (String text : List.of("", "red star", "a red dragon", "the red star", "a star red",
                "a red star on blue background", "a red star on a blue", "a red star in the middle",
                "a red star on a red background", "a large small star", "a red star on a blue background please",
                "a redstar", "a red star, on a blue background")) {
            assertEquals(Optional.empty(), ShapePrompt.parse(text), text);
        }
    }

    @Test
    void colourAndBackgroundMustDiffer() {
        assertThrows(IllegalArgumentException.class, () -> new ShapeAttributes(
                ShapeSize.SMALL, PaletteColour.RED, ShapeKind.STAR, GridPosition.TOP, PaletteColour.RED));
        assertThrows(IllegalArgumentException.class, () -> new ShapePrompt(
                null, PaletteColour.RED, null, null, PaletteColour.RED));
    }
}
