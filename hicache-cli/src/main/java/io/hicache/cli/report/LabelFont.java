package io.hicache.cli.report;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Draws one line of label text for grids and plots.
 *
 * <p>Java2D text needs fonts from the platform: on a minimal Linux without any font files the first
 * {@code drawString} throws {@code InternalError: Fontconfig head is null} (even headless). So the
 * first use probes Java2D once; when it fails, labels use a 5×9 bitmap font built into this module
 * (printable ASCII; other characters draw as '?'), and grids and plots are still produced.
 *
 * <p>Layout never depends on which font is used: a font of size {@code px} always has line height
 * {@link #lineHeight()}, so image sizes are the same on every machine; only line breaks may differ.
 */
abstract class LabelFont {
    private static final Logger LOG = LoggerFactory.getLogger(LabelFont.class);

    final int size;

    private LabelFont(int size) {
        if (size < 7) {
            throw new IllegalArgumentException("font size " + size + " px is too small to read");
        }
        this.size = size;
    }

    /** The platform's sans-serif font when Java2D can draw text here, else the built-in bitmap font. */
    static LabelFont sansSerif(int size) {
        return Java2dProbe.WORKS ? new Java2d(size) : new Bitmap(size);
    }

    /** The built-in bitmap font, whatever the platform has. */
    static LabelFont bitmap(int size) {
        return new Bitmap(size);
    }

    /** The same kind of font at another size. */
    abstract LabelFont ofSize(int px);

    /** Vertical distance between consecutive lines, in pixels. */
    final int lineHeight() {
        return Math.round(size * 1.4f);
    }

    /** Advance width of {@code text}, in pixels. */
    abstract int width(String text);

    /** Draws {@code text} in a line box whose top-left corner is (x, top). */
    abstract void draw(Graphics2D g, String text, int x, int top, Color color);

    /** {@code text} cut to fit {@code maxWidth}, ending in "..." when cut. */
    final String fit(String text, int maxWidth) {
        if (width(text) <= maxWidth) {
            return text;
        }
        int end = text.length();
        while (end > 0 && width(text.substring(0, end) + "...") > maxWidth) {
            end = text.offsetByCodePoints(end, -1);
        }
        return end == 0 ? "" : text.substring(0, end) + "...";
    }

    /**
     * {@code text} broken into lines no wider than {@code maxWidth} (at spaces where possible, else
     * inside words), at most {@code maxLines} of them; the last line ends in "..." when text is left.
     */
    final List<String> wrap(String text, int maxWidth, int maxLines) {
        List<String> lines = new ArrayList<>();
        String rest = text.strip().replaceAll("\\s+", " ");
        while (!rest.isEmpty() && lines.size() < maxLines) {
            int end = rest.length();
            while (end > 0 && width(rest.substring(0, end)) > maxWidth) {
                end = rest.offsetByCodePoints(end, -1);
            }
            if (end == 0) {
                break; // not even one character fits
            }
            if (end < rest.length()) {
                int space = rest.lastIndexOf(' ', end);
                if (space > 0) {
                    end = space;
                }
            }
            lines.add(rest.substring(0, end).strip());
            rest = rest.substring(end).strip();
        }
        if (!rest.isEmpty() && !lines.isEmpty()) {
            int last = lines.size() - 1;
            lines.set(last, fit(lines.get(last) + " " + rest, maxWidth));
        }
        return lines;
    }

    /** Java2D's logical "SansSerif" font, antialiased. */
    private static final class Java2d extends LabelFont {
        private final Font font;
        private final FontMetrics metrics;

        Java2d(int size) {
            super(size);
            font = new Font(Font.SANS_SERIF, Font.PLAIN, size);
            Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
            metrics = g.getFontMetrics(font);
            g.dispose();
        }

        @Override
        LabelFont ofSize(int px) {
            return new Java2d(px);
        }

        @Override
        int width(String text) {
            return metrics.stringWidth(text);
        }

        @Override
        void draw(Graphics2D g, String text, int x, int top, Color color) {
            g.setFont(font);
            g.setColor(color);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            // centre the font's ascent+descent in the line box
            int baseline = top + (lineHeight() - metrics.getAscent() - metrics.getDescent()) / 2 + metrics.getAscent();
            g.drawString(text, x, baseline);
        }
    }

    /** The built-in 5×9 font, scaled by an integer factor so that capitals are about 0.75·size tall. */
    private static final class Bitmap extends LabelFont {
        static final int COLUMNS = 5;
        static final int ROWS = 9;
        private static final boolean[][][] GLYPHS = loadGlyphs();
        private final int scale;

        Bitmap(int size) {
            super(size);
            scale = Math.max(1, Math.round(size * 0.75f / 7));
        }

        @Override
        LabelFont ofSize(int px) {
            return new Bitmap(px);
        }

        @Override
        int width(String text) {
            return text.codePointCount(0, text.length()) * (COLUMNS + 1) * scale;
        }

        @Override
        void draw(Graphics2D g, String text, int x, int top, Color color) {
            g.setColor(color);
            int y0 = top + Math.max(0, (lineHeight() - ROWS * scale) / 2);
            int[] codePoints = text.codePoints().toArray();
            for (int i = 0; i < codePoints.length; i++) {
                int c = codePoints[i];
                boolean[][] glyph = GLYPHS[c >= 0x20 && c <= 0x7E ? c - 0x20 : '?' - 0x20];
                int x0 = x + i * (COLUMNS + 1) * scale;
                for (int r = 0; r < ROWS; r++) {
                    for (int col = 0; col < COLUMNS; col++) {
                        if (glyph[r][col]) {
                            g.fillRect(x0 + col * scale, y0 + r * scale, scale, scale);
                        }
                    }
                }
            }
        }

        /** Parses font-5x9.txt: per glyph a "--- 0xNN" header and 9 rows of 5 '#'/'.' columns. */
        private static boolean[][][] loadGlyphs() {
            boolean[][][] glyphs = new boolean[0x7F - 0x20][][];
            try (InputStream in = LabelFont.class.getResourceAsStream("font-5x9.txt")) {
                if (in == null) {
                    throw new IllegalStateException("font-5x9.txt missing from the classpath");
                }
                BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
                int code = -1;
                int row = 0;
                for (String line; (line = reader.readLine()) != null; ) {
                    if (line.startsWith("//") || line.isEmpty()) {
                        continue;
                    }
                    if (line.startsWith("--- 0x")) {
                        code = Integer.parseInt(line.substring(6, 8), 16);
                        glyphs[code - 0x20] = new boolean[ROWS][COLUMNS];
                        row = 0;
                        continue;
                    }
                    if (code < 0 || row >= ROWS || !line.matches("[#.]{" + COLUMNS + "}")) {
                        throw new IllegalStateException("font-5x9.txt: unexpected line '" + line + "'");
                    }
                    for (int col = 0; col < COLUMNS; col++) {
                        glyphs[code - 0x20][row][col] = line.charAt(col) == '#';
                    }
                    row++;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            for (int i = 0; i < glyphs.length; i++) {
                if (glyphs[i] == null) {
                    throw new IllegalStateException("font-5x9.txt lacks character 0x" + Integer.toHexString(i + 0x20));
                }
            }
            return glyphs;
        }
    }

    /** Decides once per JVM whether Java2D can render text. */
    private static final class Java2dProbe {
        static final boolean WORKS = probe();

        private static boolean probe() {
            try {
                BufferedImage image = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
                Graphics2D g = image.createGraphics();
                g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 20));
                g.setColor(Color.WHITE);
                g.drawString("Hg", 2, 22);
                g.dispose();
                for (int y = 0; y < image.getHeight(); y++) {
                    for (int x = 0; x < image.getWidth(); x++) {
                        if ((image.getRGB(x, y) & 0xFFFFFF) != 0) {
                            return true;
                        }
                    }
                }
                LOG.warn("Java2D draws no text on this platform; labels use the built-in bitmap font");
                return false;
            } catch (OutOfMemoryError e) {
                throw e;
            } catch (RuntimeException | Error e) {
                // no fonts: InternalError wrapping "Fontconfig head is null", "No fonts found", missing libfreetype...
                Throwable cause = e;
                while (cause.getCause() != null) {
                    cause = cause.getCause();
                }
                LOG.warn("Java2D cannot render text here ({}); labels use the built-in bitmap font", cause.toString());
                return false;
            }
        }
    }
}
