package io.hicache.cli.report;

import io.hicache.core.image.RgbImage;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A labelled comparison grid: one row per prompt/seed, one column per mode, images unscaled (or
 * shrunk by an integer factor) so that differences stay visible pixel for pixel, each optionally
 * captioned (e.g. with its prompt) in a smaller font under it.
 *
 * <p>Layout, with {@code pad = max(4, fontSize/2)} and {@code line = round(1.4·fontSize)}: a header
 * band {@code line + 2·pad} high holds the column labels; a label column {@code labelWidth} wide
 * (none when every row label is empty) holds the row labels, wrapped; a row with captions has a
 * caption band {@code captionLines · round(1.4·captionFontSize)} high under its images, each caption
 * wrapped to its column's width (cut with "..." past {@code captionLines} lines); every cell is
 * followed by a {@code pad} gap, and the grid starts after a {@code pad} margin (plus
 * {@code labelWidth + pad} with row labels). A column is as wide as its widest image, a row as tall
 * as its tallest, so {@code width = pad + [labelWidth + pad] + Σ(columnWidth + pad)} and
 * {@code height = line + 2·pad + Σ(rowHeight + [captionBand] + pad)}: sizes never depend on the
 * text or the font found. A missing image (null) leaves a grey cell marked "missing".
 */
public final class ImageGrid {
    private static final Color BACKGROUND = Color.WHITE;
    private static final Color TEXT = new Color(0x20, 0x20, 0x20);
    private static final Color MISSING = new Color(0xD0, 0xD0, 0xD0);

    private final List<String> columns;
    private final List<String> rowLabels = new ArrayList<>();
    private final List<List<RgbImage>> rows = new ArrayList<>();
    private final List<List<String>> captions = new ArrayList<>();
    private int shrink = 1;
    private int fontSize = 16;
    private int captionFontSize = 10;
    private int captionLines = 4;
    private int labelWidth = -1;
    private LabelFont font;

    private ImageGrid(List<String> columns) {
        if (columns.isEmpty()) {
            throw new IllegalArgumentException("a grid needs at least one column");
        }
        this.columns = List.copyOf(columns);
    }

    /** A grid with these column labels (e.g. mode names). */
    public static ImageGrid withColumns(List<String> columnLabels) {
        return new ImageGrid(columnLabels);
    }

    /** Adds a row: its label (e.g. the prompt and seed) and one image per column, null where missing. */
    public ImageGrid row(String label, List<RgbImage> images) {
        return row(label, images, null);
    }

    /**
     * Adds a row with a caption under each image (e.g. its prompt; null or blank for none), or none
     * when {@code captions} is null.
     */
    public ImageGrid row(String label, List<RgbImage> images, List<String> captions) {
        if (images.size() != columns.size() || captions != null && captions.size() != columns.size()) {
            throw new IllegalArgumentException("row '" + label + "' has " + images.size() + " images"
                    + (captions == null ? "" : " and " + captions.size() + " captions") + " for " + columns.size()
                    + " columns");
        }
        rowLabels.add(label == null ? "" : label);
        rows.add(new ArrayList<>(images));
        List<String> rowCaptions = new ArrayList<>();
        for (int c = 0; c < columns.size(); c++) {
            rowCaptions.add(captions == null || captions.get(c) == null ? "" : captions.get(c));
        }
        this.captions.add(rowCaptions);
        return this;
    }

    /** Shrinks every image by this integer factor (block average) before placing it; default 1. */
    public ImageGrid shrink(int factor) {
        if (factor < 1) {
            throw new IllegalArgumentException("shrink factor " + factor);
        }
        this.shrink = factor;
        return this;
    }

    /** Label text size in pixels; default 16. */
    public ImageGrid fontSize(int px) {
        this.fontSize = px;
        return this;
    }

    /** Caption text size in pixels; default 10. */
    public ImageGrid captionFontSize(int px) {
        this.captionFontSize = px;
        return this;
    }

    /** Lines of caption text under an image, the height of a row's caption band; default 4. */
    public ImageGrid captionLines(int lines) {
        if (lines < 1) {
            throw new IllegalArgumentException("caption lines " + lines);
        }
        this.captionLines = lines;
        return this;
    }

    /** Width of the row-label column in pixels; default {@code 16·fontSize}. */
    public ImageGrid labelWidth(int px) {
        if (px < 1) {
            throw new IllegalArgumentException("label width " + px);
        }
        this.labelWidth = px;
        return this;
    }

    /** Forces a font (tests use it to draw with the bitmap fallback on machines that have fonts). */
    ImageGrid font(LabelFont font) {
        this.font = font;
        return this;
    }

    public RgbImage render() {
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("a grid needs at least one row");
        }
        LabelFont f = font != null ? font : LabelFont.sansSerif(fontSize);
        LabelFont small = f.ofSize(captionFontSize);
        List<List<RgbImage>> cells = new ArrayList<>();
        for (List<RgbImage> row : rows) {
            List<RgbImage> shrunk = new ArrayList<>();
            for (RgbImage image : row) {
                shrunk.add(image == null ? null : image.downsample(shrink));
            }
            cells.add(shrunk);
        }
        int[] colWidth = new int[columns.size()];
        int[] rowHeight = new int[rows.size()];
        int anyWidth = 0;
        int anyHeight = 0;
        for (int r = 0; r < cells.size(); r++) {
            for (int c = 0; c < columns.size(); c++) {
                RgbImage image = cells.get(r).get(c);
                if (image != null) {
                    colWidth[c] = Math.max(colWidth[c], image.width());
                    rowHeight[r] = Math.max(rowHeight[r], image.height());
                    anyWidth = Math.max(anyWidth, image.width());
                    anyHeight = Math.max(anyHeight, image.height());
                }
            }
        }
        if (anyWidth == 0) {
            throw new IllegalArgumentException("a grid needs at least one image");
        }
        // a column or row with no image at all takes the size of the largest image
        for (int c = 0; c < colWidth.length; c++) {
            colWidth[c] = colWidth[c] == 0 ? anyWidth : colWidth[c];
        }
        for (int r = 0; r < rowHeight.length; r++) {
            rowHeight[r] = rowHeight[r] == 0 ? anyHeight : rowHeight[r];
        }

        int pad = Math.max(4, f.size / 2);
        int line = f.lineHeight();
        boolean rowLabelsShown = rowLabels.stream().anyMatch(s -> !s.isBlank());
        int labelW = rowLabelsShown ? (labelWidth > 0 ? labelWidth : 16 * f.size) : 0;
        int left = pad + (rowLabelsShown ? labelW + pad : 0);
        int top = line + 2 * pad;
        int width = left + Arrays.stream(colWidth).sum() + pad * colWidth.length;
        int[] captionBand = new int[rows.size()];
        for (int r = 0; r < captionBand.length; r++) {
            boolean captioned = captions.get(r).stream().anyMatch(s -> !s.isBlank());
            captionBand[r] = captioned ? captionLines * small.lineHeight() : 0;
        }
        int height = top + Arrays.stream(rowHeight).sum() + Arrays.stream(captionBand).sum() + pad * rowHeight.length;

        BufferedImage canvas = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = canvas.createGraphics();
        try {
            g.setColor(BACKGROUND);
            g.fillRect(0, 0, width, height);
            int x = left;
            for (int c = 0; c < columns.size(); c++) {
                String label = f.fit(columns.get(c), colWidth[c]);
                f.draw(g, label, x + (colWidth[c] - f.width(label)) / 2, pad, TEXT);
                x += colWidth[c] + pad;
            }
            int y = top;
            for (int r = 0; r < cells.size(); r++) {
                if (rowLabelsShown) {
                    List<String> lines = f.wrap(rowLabels.get(r), labelW, Math.max(1, rowHeight[r] / line));
                    for (int i = 0; i < lines.size(); i++) {
                        f.draw(g, lines.get(i), pad, y + i * line, TEXT);
                    }
                }
                x = left;
                for (int c = 0; c < columns.size(); c++) {
                    RgbImage image = cells.get(r).get(c);
                    if (image != null) {
                        g.drawImage(image.toBufferedImage(), x, y, null);
                    } else {
                        g.setColor(MISSING);
                        g.fillRect(x, y, colWidth[c], rowHeight[r]);
                        String missing = f.fit("missing", colWidth[c]);
                        f.draw(g, missing, x + (colWidth[c] - f.width(missing)) / 2, y + (rowHeight[r] - line) / 2, TEXT);
                    }
                    if (captionBand[r] > 0) {
                        List<String> lines = small.wrap(captions.get(r).get(c), colWidth[c], captionLines);
                        for (int i = 0; i < lines.size(); i++) {
                            small.draw(g, lines.get(i), x + (colWidth[c] - small.width(lines.get(i))) / 2,
                                    y + rowHeight[r] + i * small.lineHeight(), TEXT);
                        }
                    }
                    x += colWidth[c] + pad;
                }
                y += rowHeight[r] + captionBand[r] + pad;
            }
        } finally {
            g.dispose();
        }
        return RgbImage.fromBufferedImage(canvas);
    }
}
