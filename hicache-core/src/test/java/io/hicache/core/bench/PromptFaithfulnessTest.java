package io.hicache.core.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.core.image.RgbImage;
import io.hicache.core.shapes.GridPosition;
import io.hicache.core.shapes.PaletteColour;
import io.hicache.core.shapes.ShapeAttributes;
import io.hicache.core.shapes.ShapeKind;
import io.hicache.core.shapes.ShapePrompt;
import io.hicache.core.shapes.ShapeScene;
import io.hicache.core.shapes.ShapeSize;
import io.hicache.core.shapes.ShapesGenerator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Scores of images drawn by the Shapes data generator, whose attributes are known. */
class PromptFaithfulnessTest {
    private static final ShapeAttributes DRAWN = new ShapeAttributes(
            ShapeSize.LARGE, PaletteColour.RED, ShapeKind.STAR, GridPosition.TOP_LEFT, PaletteColour.BLUE);

    @Test
    void imagesDrawnForTheirPromptsScoreOne() {
        List<String> prompts = new ArrayList<>();
        List<RgbImage> images = new ArrayList<>();
        ShapesGenerator generator = new ShapesGenerator(7);
        for (int i = 0; i < 12; i++) {
            ShapeScene scene = generator.next();
            prompts.add(ShapePrompt.of(scene.attributes()).text());
            images.add(scene.render());
        }
        assertEquals(Optional.empty(), PromptFaithfulness.unscorable(prompts, 128, 128));
        PromptFaithfulness.Score s = PromptFaithfulness.score(prompts, images);
        assertEquals(Map.of("size", 1.0, "colour", 1.0, "shape", 1.0, "position", 1.0, "background", 1.0),
                s.perAttribute());
        assertEquals(List.of("size", "colour", "shape", "position", "background"), List.copyOf(s.perAttribute().keySet()),
                "the grammar's order");
        assertEquals(1.0, s.overall(), 0);
        assertEquals(1.0, s.allCorrect(), 0);
        assertEquals(12, s.images());
    }

    @Test
    void aWrongPromptFailsExactlyTheAttributesItGetsWrong() {
        RgbImage image = ShapesGenerator.jittered(DRAWN, new Random(3)).render();
        String right = "a large red star in the top left corner on a blue background";
        assertEquals(ShapePrompt.of(DRAWN).text(), right);
        // colour and position wrong; size, shape and background right
        String wrong = "a large yellow star in the bottom right corner on a blue background";
        PromptFaithfulness.Score s = PromptFaithfulness.score(List.of(right, wrong), List.of(image, image));
        Map<String, Double> expected = new LinkedHashMap<>();
        expected.put("size", 1.0);
        expected.put("colour", 0.5);
        expected.put("shape", 1.0);
        expected.put("position", 0.5);
        expected.put("background", 1.0);
        assertEquals(expected, s.perAttribute());
        assertEquals(8.0 / 10, s.overall(), 1e-12);
        assertEquals(0.5, s.allCorrect(), 0);
        assertEquals(2, s.images());
    }

    @Test
    void partialPromptsScoreOnlyWhatTheyNameAndAMissingImageFailsIt() {
        RgbImage image = ShapeScene.nominal(DRAWN).render();
        PromptFaithfulness.Score s = PromptFaithfulness.score(List.of("a red star", "a small circle", "a red star"),
                Arrays.asList(image, image, null));
        // colour: right, missing; shape: right, wrong (circle), missing; size: wrong (small)
        assertEquals(Map.of("size", 0.0, "colour", 0.5, "shape", 1.0 / 3), s.perAttribute());
        assertEquals(2.0 / 6, s.overall(), 1e-12);
        assertEquals(1.0 / 3, s.allCorrect(), 1e-12);
    }

    @Test
    void runsOutsideTheShapesTaskAreUnscorableWithAReason() {
        assertEquals(Optional.of("prompts do not follow the Shapes grammar (e.g. 'a photo of a cat')"),
                PromptFaithfulness.unscorable(List.of("a red star", "a photo of a cat"), 128, 128));
        assertEquals(Optional.of("prompt 'a shape' names no Shapes attribute to check"),
                PromptFaithfulness.unscorable(List.of("a shape"), 128, 128));
        assertEquals(Optional.of("the Shapes checker reads 128x128 images, these are 64x128"),
                PromptFaithfulness.unscorable(List.of("a red star"), 64, 128));
        assertThrows(IllegalArgumentException.class,
                () -> PromptFaithfulness.score(List.of("a photo of a cat"), List.of(ShapeScene.nominal(DRAWN).render())));
        assertTrue(PromptFaithfulness.unscorable(List.of("A Red Star."), 128, 128).isEmpty(), "people's typing");
    }
}
