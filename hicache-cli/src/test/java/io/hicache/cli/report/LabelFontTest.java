package io.hicache.cli.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LabelFontTest {
    private static final LabelFont BITMAP = LabelFont.bitmap(16);

    @Test
    void bitmapFontHasADistinctGlyphForEveryPrintableAsciiCharacter() {
        Map<String, Character> seen = new HashMap<>();
        for (char c = 0x21; c <= 0x7E; c++) {
            String pixels = render(BITMAP, String.valueOf(c));
            assertTrue(pixels.contains("#"), "glyph '" + c + "' draws ink");
            Character before = seen.put(pixels, c);
            assertEquals(null, before, "glyphs '" + before + "' and '" + c + "' look the same");
        }
        assertFalse(render(BITMAP, " ").contains("#"), "space draws nothing");
    }

    @Test
    void bitmapFontDrawsOtherCharactersAsQuestionMarks() {
        assertEquals(render(BITMAP, "?x?"), render(BITMAP, "éx狐"));
        assertEquals(render(BITMAP, "??"), render(BITMAP, "🦊🦊"), "one mark per code point, not per UTF-16 unit");
        assertEquals(BITMAP.width("??"), BITMAP.width("🦊🦊"));
    }

    @Test
    void inkStaysInsideTheLineBoxAndTheAdvanceWidth() {
        for (LabelFont f : List.of(BITMAP, LabelFont.bitmap(9), LabelFont.bitmap(40), LabelFont.sansSerif(16))) {
            String text = "Ag|jy_Q";
            BufferedImage img = new BufferedImage(f.width(text) + 40, f.lineHeight() + 40, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            f.draw(g, text, 20, 20, Color.WHITE);
            g.dispose();
            int ink = 0;
            for (int y = 0; y < img.getHeight(); y++) {
                for (int x = 0; x < img.getWidth(); x++) {
                    if ((img.getRGB(x, y) & 0xFFFFFF) != 0) {
                        ink++;
                        assertTrue(y >= 20 && y < 20 + f.lineHeight(), "row " + y + " outside the line box of size " + f.size);
                        assertTrue(x >= 20 && x < 20 + f.width(text) + 2, "column " + x + " outside the advance of size " + f.size);
                    }
                }
            }
            assertTrue(ink > 20, "size " + f.size + " draws the text");
        }
    }

    @Test
    void lineHeightDependsOnlyOnTheSize() {
        assertEquals(LabelFont.sansSerif(16).lineHeight(), LabelFont.bitmap(16).lineHeight());
        assertEquals(22, LabelFont.bitmap(16).lineHeight()); // round(1.4 · 16)
        assertThrows(IllegalArgumentException.class, () -> LabelFont.bitmap(6));
    }

    @Test
    void fitCutsWithAnEllipsis() {
        int w = BITMAP.width("abcdefg");
        assertEquals("abcdefg", BITMAP.fit("abcdefg", w));
        assertEquals("abcd...", BITMAP.fit("abcdefgh", w));
        assertEquals("", BITMAP.fit("abcdefgh", BITMAP.width("..")));
    }

    @Test
    void wrapBreaksAtSpacesThenInsideWordsAndMarksLeftoverText() {
        int tenChars = BITMAP.width("0123456789");
        assertEquals(List.of("the quick", "brown fox"), BITMAP.wrap("the  quick brown\nfox", tenChars, 5));
        assertEquals(List.of("the quick", "brown f..."), BITMAP.wrap("the quick brown fox jumps", tenChars, 2));
        assertEquals(List.of("0123456789", "abc"), BITMAP.wrap("0123456789abc", tenChars, 3));
        assertEquals(List.of(), BITMAP.wrap("   ", tenChars, 3));
    }

    /** The text as '#'/'.' rows (ink or not), for comparing what two strings draw. */
    private static String render(LabelFont f, String text) {
        BufferedImage img = new BufferedImage(Math.max(1, f.width(text)), f.lineHeight(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        f.draw(g, text, 0, 0, Color.WHITE);
        g.dispose();
        StringBuilder s = new StringBuilder();
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                s.append((img.getRGB(x, y) & 0xFFFFFF) != 0 ? '#' : '.');
            }
            s.append('\n');
        }
        return s.toString();
    }
}
