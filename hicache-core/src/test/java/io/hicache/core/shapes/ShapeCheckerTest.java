package io.hicache.core.shapes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.core.image.RgbImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ShapeCheckerTest {
    /** The doc's own test: on images drawn by the generator the checker is right every time. */
    @Test
    void readsEveryGeneratedSampleCorrectly() {
        List<String> wrong = new ArrayList<>();
        for (long seed = 0; seed < 2000; seed++) {
            expectRead(ShapesGenerator.sample(seed), "seed " + seed, wrong);
        }
        assertTrue(wrong.isEmpty(), wrong.size() + " of 2000 wrong, e.g. " + wrong.subList(0, Math.min(5, wrong.size())));
    }

    @Test
    void readsEveryCombinationOfAttributesCorrectly() {
        List<ShapeAttributes> all = ShapeAttributes.all();
        assertEquals(4032, all.size());
        Random random = new Random(15);
        List<String> wrong = new ArrayList<>();
        for (ShapeAttributes attributes : all) {
            expectRead(ShapesGenerator.jittered(attributes, random), "combination", wrong);
        }
        assertTrue(wrong.isEmpty(), wrong.size() + " of 4032 wrong, e.g. " + wrong.subList(0, Math.min(5, wrong.size())));
    }

    /**
     * The extremes of the jitter (side and centre each off by the full 4 px) for every shape, size
     * and position, on the closest palette pair (orange/yellow: the thinnest anti-aliased rim passes
     * the distance threshold) and the farthest (black/white: the widest).
     */
    @Test
    void readsTheJitterExtremesCorrectly() {
        PaletteColour[][] pairs = {
            {PaletteColour.ORANGE, PaletteColour.YELLOW}, {PaletteColour.YELLOW, PaletteColour.ORANGE},
            {PaletteColour.BLACK, PaletteColour.WHITE}, {PaletteColour.WHITE, PaletteColour.BLACK},
        };
        List<String> wrong = new ArrayList<>();
        int count = 0;
        for (PaletteColour[] pair : pairs) {
            for (ShapeKind shape : ShapeKind.values()) {
                for (ShapeSize size : ShapeSize.values()) {
                    for (GridPosition position : GridPosition.values()) {
                        ShapeAttributes a = new ShapeAttributes(size, pair[0], shape, position, pair[1]);
                        for (int corner = 0; corner < 8; corner++) {
                            double side = size.nominalSide() + ((corner & 1) == 0 ? -4 : 4);
                            double cx = position.centreX() + ((corner & 2) == 0 ? -4 : 4);
                            double cy = position.centreY() + ((corner & 4) == 0 ? -4 : 4);
                            expectRead(new ShapeScene(a, side, cx, cy), "corner " + corner, wrong);
                            count++;
                        }
                    }
                }
            }
        }
        assertTrue(wrong.isEmpty(), wrong.size() + " of " + count + " wrong, e.g. " + wrong.subList(0, Math.min(5, wrong.size())));
    }

    @Test
    void aSquareAtAKnownPlaceHasTheExpectedMeasurements() {
        ShapeAttributes a = new ShapeAttributes(
                ShapeSize.SMALL, PaletteColour.RED, ShapeKind.SQUARE, GridPosition.CENTER, PaletteColour.WHITE);
        // side 32 at (64, 64): exactly pixels 48..79 on both axes, no anti-aliased rim
        ShapeReading r = ShapeChecker.read(new ShapeScene(a, 32, 64, 64).render()).orElseThrow();
        assertEquals(64.0, r.centroidX(), 1e-12);
        assertEquals(64.0, r.centroidY(), 1e-12);
        assertEquals(48, r.minX());
        assertEquals(79, r.maxX());
        assertEquals(48, r.minY());
        assertEquals(79, r.maxY());
        assertEquals(32 * 32, r.pixels());
        assertEquals(a, attributesOf(r));

        // side 60 at (34, 94): pixels 4..63 across, 64..123 down; centroid (34, 94)
        ShapeAttributes b = new ShapeAttributes(
                ShapeSize.LARGE, PaletteColour.GREEN, ShapeKind.SQUARE, GridPosition.BOTTOM_LEFT, PaletteColour.BLACK);
        ShapeReading s = ShapeChecker.read(new ShapeScene(b, 60, 34, 94).render()).orElseThrow();
        assertEquals(34.0, s.centroidX(), 1e-12);
        assertEquals(94.0, s.centroidY(), 1e-12);
        assertEquals(60, s.boxWidth());
        assertEquals(60, s.boxHeight());
        assertEquals(4, s.minX());
        assertEquals(64, s.minY());
        assertEquals(b, attributesOf(s));
    }

    @Test
    void positionThresholdsAreTheDocs() {
        ShapeAttributes a = new ShapeAttributes(
                ShapeSize.SMALL, PaletteColour.BLUE, ShapeKind.SQUARE, GridPosition.CENTER, PaletteColour.WHITE);
        // 10 px squares on whole pixels, so the centroid is the centre exactly: left below 49, right above 79
        assertEquals(GridPosition.LEFT, readAt(a, 48).position());
        assertEquals(GridPosition.CENTER, readAt(a, 49).position());
        assertEquals(GridPosition.CENTER, readAt(a, 79).position());
        assertEquals(GridPosition.RIGHT, readAt(a, 80).position());
        assertEquals(49.0, readAt(a, 49).centroidX(), 1e-12);
    }

    @Test
    void sizeThresholdIsABoundingBoxOf46() {
        ShapeAttributes a = new ShapeAttributes(
                ShapeSize.SMALL, PaletteColour.BLUE, ShapeKind.SQUARE, GridPosition.CENTER, PaletteColour.WHITE);
        assertEquals(ShapeSize.SMALL, ShapeChecker.read(new ShapeScene(a, 45, 64.5, 64.5).render()).orElseThrow().size());
        assertEquals(ShapeSize.LARGE, ShapeChecker.read(new ShapeScene(a, 46, 64, 64).render()).orElseThrow().size());
    }

    @Test
    void aBlankImageHasNoObject() {
        assertEquals(Optional.empty(), ShapeChecker.read(RgbImage.filled(128, 128, 245, 245, 245)));
        // a 6×6 dot is 36 pixels: under the 40 of an object
        ShapeAttributes a = new ShapeAttributes(
                ShapeSize.SMALL, PaletteColour.BLACK, ShapeKind.SQUARE, GridPosition.CENTER, PaletteColour.WHITE);
        assertEquals(Optional.empty(), ShapeChecker.read(new ShapeScene(a, 6, 64, 64).render()));
        assertTrue(ShapeChecker.read(new ShapeScene(a, 7, 64.5, 64.5).render()).isPresent());
    }

    @Test
    void theLargestRegionIsTheObject() {
        ShapeAttributes a = new ShapeAttributes(
                ShapeSize.SMALL, PaletteColour.PURPLE, ShapeKind.CIRCLE, GridPosition.TOP_RIGHT, PaletteColour.YELLOW);
        byte[] rgb = new ShapeScene(a, 32, 94, 34).render().toByteArray();
        // a 9×9 black speck elsewhere is smaller and ignored
        for (int y = 100; y < 109; y++) {
            for (int x = 20; x < 29; x++) {
                int i = 3 * (y * 128 + x);
                rgb[i] = rgb[i + 1] = rgb[i + 2] = 25;
            }
        }
        assertEquals(a, attributesOf(ShapeChecker.read(RgbImage.of(128, 128, rgb)).orElseThrow()));
    }

    @Test
    void rejectsOtherImageSizes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ShapeChecker.read(RgbImage.filled(64, 64, 0, 0, 0)));
        assertTrue(e.getMessage().contains("128x128"), e.getMessage());
    }

    private static ShapeReading readAt(ShapeAttributes a, double centreX) {
        return ShapeChecker.read(new ShapeScene(a, 10, centreX, 64).render()).orElseThrow();
    }

    private static void expectRead(ShapeScene scene, String what, List<String> wrong) {
        Optional<ShapeReading> r = ShapeChecker.read(scene.render());
        if (r.isEmpty()) {
            wrong.add(what + " " + scene + ": no object");
        } else if (!attributesOf(r.get()).equals(scene.attributes())) {
            wrong.add(what + " " + scene + " read as " + r.get());
        }
    }

    static ShapeAttributes attributesOf(ShapeReading r) {
        return new ShapeAttributes(r.size(), r.colour(), r.shape(), r.position(), r.background());
    }
}
