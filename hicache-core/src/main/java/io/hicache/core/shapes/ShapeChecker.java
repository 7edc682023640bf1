package io.hicache.core.shapes;

import io.hicache.core.image.RgbImage;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.geom.AffineTransform;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.util.Optional;

/**
 * Reads a Shapes image back into its attributes, by the six steps of demo-model.md:
 * <ol>
 *   <li>background = per-channel median of the {@value #BORDER}-pixel border, snapped to the palette;
 *   <li>object = the largest 4-connected region of pixels farther than {@value #OBJECT_DISTANCE}
 *       (Euclidean RGB) from that median; under {@value #MIN_OBJECT_PIXELS} pixels there is no object;
 *   <li>colour = per-channel median of the object's interior (pixels whose four neighbours are all in
 *       the object), snapped to the palette;
 *   <li>position = the centroid's 3×3 cell: left if x &lt; {@value #LOW_EDGE}, right if
 *       x &gt; {@value #HIGH_EDGE}, else centre; rows likewise;
 *   <li>size = large if the bounding box's longer side is at least {@value #LARGE_MIN_SIDE} px;
 *   <li>shape = the one whose template, drawn to fill the bounding box, has the highest IoU with the object.
 * </ol>
 */
public final class ShapeChecker {
    static final int BORDER = 4;
    static final double OBJECT_DISTANCE = 45;
    static final int MIN_OBJECT_PIXELS = 40;
    static final double LOW_EDGE = 49;
    static final double HIGH_EDGE = 79;
    static final int LARGE_MIN_SIDE = 46;

    private static final int SIDE = ShapeScene.IMAGE_SIDE;

    private ShapeChecker() {}

    /** The attributes {@code image} shows; empty when it has no object (which fails every attribute). */
    public static Optional<ShapeReading> read(RgbImage image) {
        if (image.width() != SIDE || image.height() != SIDE) {
            throw new IllegalArgumentException("Shapes images are " + SIDE + "x" + SIDE + ", got "
                    + image.width() + "x" + image.height());
        }
        byte[] rgb = image.toByteArray();
        int[] backgroundRgb = borderMedian(rgb);
        boolean[] far = farFrom(rgb, backgroundRgb);
        boolean[] object = largestRegion(far);
        if (object == null) {
            return Optional.empty();
        }
        PaletteColour background = PaletteColour.nearest(backgroundRgb[0], backgroundRgb[1], backgroundRgb[2]);
        int[] colourRgb = interiorMedian(rgb, object);
        PaletteColour colour = PaletteColour.nearest(colourRgb[0], colourRgb[1], colourRgb[2]);

        int pixels = 0;
        double sumX = 0;
        double sumY = 0;
        int minX = SIDE;
        int minY = SIDE;
        int maxX = -1;
        int maxY = -1;
        for (int y = 0; y < SIDE; y++) {
            for (int x = 0; x < SIDE; x++) {
                if (object[y * SIDE + x]) {
                    pixels++;
                    sumX += x + 0.5;
                    sumY += y + 0.5;
                    minX = Math.min(minX, x);
                    maxX = Math.max(maxX, x);
                    minY = Math.min(minY, y);
                    maxY = Math.max(maxY, y);
                }
            }
        }
        double centroidX = sumX / pixels;
        double centroidY = sumY / pixels;
        GridPosition position = GridPosition.at(cell(centroidX), cell(centroidY));
        int longerSide = Math.max(maxX - minX + 1, maxY - minY + 1);
        ShapeSize size = longerSide >= LARGE_MIN_SIDE ? ShapeSize.LARGE : ShapeSize.SMALL;
        ShapeKind shape = bestTemplate(object, minX, minY, maxX, maxY);
        return Optional.of(new ShapeReading(size, colour, shape, position, background,
                centroidX, centroidY, minX, minY, maxX, maxY, pixels));
    }

    private static int cell(double coordinate) {
        return coordinate < LOW_EDGE ? 0 : coordinate > HIGH_EDGE ? 2 : 1;
    }

    private static int[] borderMedian(byte[] rgb) {
        int[][] histograms = new int[3][256];
        int count = 0;
        for (int y = 0; y < SIDE; y++) {
            for (int x = 0; x < SIDE; x++) {
                if (x < BORDER || y < BORDER || x >= SIDE - BORDER || y >= SIDE - BORDER) {
                    int i = 3 * (y * SIDE + x);
                    for (int c = 0; c < 3; c++) {
                        histograms[c][rgb[i + c] & 0xFF]++;
                    }
                    count++;
                }
            }
        }
        return medians(histograms, count);
    }

    private static boolean[] farFrom(byte[] rgb, int[] colour) {
        boolean[] far = new boolean[SIDE * SIDE];
        double limit = OBJECT_DISTANCE * OBJECT_DISTANCE;
        for (int p = 0; p < far.length; p++) {
            int dr = (rgb[3 * p] & 0xFF) - colour[0];
            int dg = (rgb[3 * p + 1] & 0xFF) - colour[1];
            int db = (rgb[3 * p + 2] & 0xFF) - colour[2];
            far[p] = dr * dr + dg * dg + db * db > limit;
        }
        return far;
    }

    /** The largest 4-connected region of {@code mask} (the first found on a tie), or null when under the minimum. */
    private static boolean[] largestRegion(boolean[] mask) {
        int[] label = new int[mask.length];
        int[] queue = new int[mask.length];
        int bestLabel = 0;
        int bestSize = 0;
        int next = 0;
        for (int start = 0; start < mask.length; start++) {
            if (!mask[start] || label[start] != 0) {
                continue;
            }
            next++;
            int head = 0;
            int tail = 0;
            queue[tail++] = start;
            label[start] = next;
            while (head < tail) {
                int p = queue[head++];
                int x = p % SIDE;
                int y = p / SIDE;
                if (x > 0) {
                    tail = visit(mask, label, queue, tail, p - 1, next);
                }
                if (x < SIDE - 1) {
                    tail = visit(mask, label, queue, tail, p + 1, next);
                }
                if (y > 0) {
                    tail = visit(mask, label, queue, tail, p - SIDE, next);
                }
                if (y < SIDE - 1) {
                    tail = visit(mask, label, queue, tail, p + SIDE, next);
                }
            }
            if (tail > bestSize) {
                bestSize = tail;
                bestLabel = next;
            }
        }
        if (bestSize < MIN_OBJECT_PIXELS) {
            return null;
        }
        boolean[] region = new boolean[mask.length];
        for (int p = 0; p < mask.length; p++) {
            region[p] = label[p] == bestLabel;
        }
        return region;
    }

    private static int visit(boolean[] mask, int[] label, int[] queue, int tail, int p, int current) {
        if (mask[p] && label[p] == 0) {
            label[p] = current;
            queue[tail++] = p;
        }
        return tail;
    }

    /** Per-channel median of the object's pixels whose four neighbours are all in it (all of them if none is). */
    private static int[] interiorMedian(byte[] rgb, boolean[] object) {
        int[][] histograms = new int[3][256];
        int count = 0;
        for (int y = 1; y < SIDE - 1; y++) {
            for (int x = 1; x < SIDE - 1; x++) {
                int p = y * SIDE + x;
                if (object[p] && object[p - 1] && object[p + 1] && object[p - SIDE] && object[p + SIDE]) {
                    addPixel(histograms, rgb, p);
                    count++;
                }
            }
        }
        if (count == 0) {
            for (int p = 0; p < object.length; p++) {
                if (object[p]) {
                    addPixel(histograms, rgb, p);
                    count++;
                }
            }
        }
        return medians(histograms, count);
    }

    private static void addPixel(int[][] histograms, byte[] rgb, int p) {
        for (int c = 0; c < 3; c++) {
            histograms[c][rgb[3 * p + c] & 0xFF]++;
        }
    }

    /** The lower median of each channel's histogram of {@code count} samples. */
    private static int[] medians(int[][] histograms, int count) {
        int[] medians = new int[3];
        for (int c = 0; c < 3; c++) {
            int seen = 0;
            int v = 0;
            while (seen + histograms[c][v] <= (count - 1) / 2) {
                seen += histograms[c][v];
                v++;
            }
            medians[c] = v;
        }
        return medians;
    }

    private static ShapeKind bestTemplate(boolean[] object, int minX, int minY, int maxX, int maxY) {
        int w = maxX - minX + 1;
        int h = maxY - minY + 1;
        ShapeKind best = null;
        double bestIou = -1;
        for (ShapeKind kind : ShapeKind.values()) {
            boolean[] template = template(kind, w, h);
            int intersection = 0;
            int union = 0;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    boolean inObject = object[(minY + y) * SIDE + minX + x];
                    boolean inTemplate = template[y * w + x];
                    intersection += inObject && inTemplate ? 1 : 0;
                    union += inObject || inTemplate ? 1 : 0;
                }
            }
            double iou = (double) intersection / union;
            if (iou > bestIou) {
                bestIou = iou;
                best = kind;
            }
        }
        return best;
    }

    /** {@code kind} drawn to fill a {@code w × h} box, aliased: a pixel is in when its centre is. */
    static boolean[] template(ShapeKind kind, int w, int h) {
        BufferedImage mask = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D g = mask.createGraphics();
        try {
            g.setTransform(new AffineTransform());
            g.setColor(Color.WHITE);
            g.fill(ShapeScene.fitted(kind, new Rectangle2D.Double(0, 0, w, h)));
        } finally {
            g.dispose();
        }
        byte[] grey = ((DataBufferByte) mask.getRaster().getDataBuffer()).getData();
        boolean[] in = new boolean[w * h];
        for (int i = 0; i < in.length; i++) {
            in[i] = grey[i] != 0;
        }
        return in;
    }
}
