package io.hicache.core.shapes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.core.image.RgbImage;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class FaithfulnessTest {
    /** A large red star at the top on green. */
    private static final ShapeAttributes DRAWN = new ShapeAttributes(
            ShapeSize.LARGE, PaletteColour.RED, ShapeKind.STAR, GridPosition.TOP, PaletteColour.GREEN);
    private static final RgbImage IMAGE = ShapeScene.nominal(DRAWN).render();

    @Test
    void partialPromptsAreScoredOnlyOnWhatTheyName() {
        Faithfulness f = new Faithfulness();
        assertTrue(f.add("a red star", IMAGE)); // 2 of 2 right
        assertTrue(f.add("a small blue circle on a white background", IMAGE)); // 0 of 4
        assertTrue(f.add("a large shape in the center", IMAGE)); // size right, position wrong
        Faithfulness.Score s = f.score();
        assertEquals(new Faithfulness.Tally(1, 2), s.perAttribute().get(ShapeAttribute.SIZE));
        assertEquals(new Faithfulness.Tally(1, 2), s.perAttribute().get(ShapeAttribute.COLOUR));
        assertEquals(new Faithfulness.Tally(1, 2), s.perAttribute().get(ShapeAttribute.SHAPE));
        assertEquals(new Faithfulness.Tally(0, 1), s.perAttribute().get(ShapeAttribute.POSITION));
        assertEquals(new Faithfulness.Tally(0, 1), s.perAttribute().get(ShapeAttribute.BACKGROUND));
        assertEquals(new Faithfulness.Tally(3, 8), s.overall());
        assertEquals(new Faithfulness.Tally(1, 3), s.allCorrect());
        assertEquals(3.0 / 8, s.overall().fraction(), 0);
        assertEquals(0, s.ungradable());
    }

    @Test
    void fullPromptOfTheDrawnAttributesIsAllCorrect() {
        Faithfulness f = new Faithfulness();
        assertTrue(f.add(ShapePrompt.of(DRAWN).text(), IMAGE));
        Faithfulness.Score s = f.score();
        for (ShapeAttribute attribute : ShapeAttribute.values()) {
            assertEquals(new Faithfulness.Tally(1, 1), s.perAttribute().get(attribute), attribute.name());
        }
        assertEquals(1.0, s.allCorrect().fraction(), 0);
    }

    @Test
    void aBlankImageFailsEveryAttribute() {
        RgbImage blank = RgbImage.filled(128, 128, 34, 160, 70); // the prompt's own background colour
        Faithfulness f = new Faithfulness();
        assertTrue(f.add(ShapePrompt.of(DRAWN).text(), blank));
        Faithfulness.Score s = f.score();
        for (ShapeAttribute attribute : ShapeAttribute.values()) {
            assertEquals(new Faithfulness.Tally(0, 1), s.perAttribute().get(attribute), attribute.name());
        }
        assertEquals(new Faithfulness.Tally(0, 5), s.overall());
        assertEquals(new Faithfulness.Tally(0, 1), s.allCorrect());
        assertEquals(Map.of(ShapeAttribute.COLOUR, false, ShapeAttribute.SHAPE, false),
                Faithfulness.verdict(ShapePrompt.parse("a red star").orElseThrow(), Optional.empty()));
    }

    @Test
    void ungradablePromptsAreCountedNotScored() {
        Faithfulness f = new Faithfulness();
        assertFalse(f.add("a photo of a cat", IMAGE));
        assertFalse(f.add("a shape", IMAGE)); // names nothing
        assertFalse(f.add("", IMAGE));
        Faithfulness.Score s = f.score();
        assertEquals(3, s.ungradable());
        assertEquals(new Faithfulness.Tally(0, 0), s.overall());
        assertTrue(Double.isNaN(s.overall().fraction()));
        assertTrue(Double.isNaN(s.allCorrect().fraction()));
    }
}
