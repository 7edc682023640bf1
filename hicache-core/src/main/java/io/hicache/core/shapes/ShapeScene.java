package io.hicache.core.shapes;

import io.hicache.core.image.RgbImage;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.util.Objects;

/**
 * One drawn sample of the Shapes task: its attributes and the jittered geometry, in pixels of the
 * {@value #IMAGE_SIDE}² image (y grows downwards; pixel (i, j) covers {@code [i, i+1] × [j, j+1]}).
 *
 * <p>Geometry for side {@code s} and centre {@code (cx, cy)}, exactly as demo-model.md: circle of
 * diameter {@code s}; axis-aligned square of side {@code s}; triangle
 * {@code (cx, cy − s/2), (cx − s/2, cy + s/2), (cx + s/2, cy + s/2)}; five-pointed star of outer radius
 * {@code s/2} and inner radius {@code 0.45·s/2}, first point straight up.
 */
public record ShapeScene(ShapeAttributes attributes, double side, double centreX, double centreY) {
    public static final int IMAGE_SIDE = 128;
    /** Largest jitter of the side and of each centre coordinate, in pixels. */
    public static final double MAX_JITTER = 4;
    static final double STAR_INNER_RATIO = 0.45;

    public ShapeScene {
        Objects.requireNonNull(attributes, "attributes");
        if (!(side > 0) || !Double.isFinite(centreX) || !Double.isFinite(centreY)) {
            throw new IllegalArgumentException("bad geometry: side " + side + ", centre (" + centreX + ", " + centreY + ")");
        }
    }

    /** The scene at the nominal side and centre, without jitter. */
    public static ShapeScene nominal(ShapeAttributes attributes) {
        return new ShapeScene(attributes, attributes.size().nominalSide(),
                attributes.position().centreX(), attributes.position().centreY());
    }

    /** The filled outline of the shape in image coordinates. */
    public Shape outline() {
        return outline(attributes.shape(), side, centreX, centreY);
    }

    /** The {@value #IMAGE_SIDE}² sRGB image: the background, and the shape filled with Java2D anti-aliasing. */
    public RgbImage render() {
        BufferedImage image = new BufferedImage(IMAGE_SIDE, IMAGE_SIDE, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            antiAliased(g);
            g.setColor(new Color(attributes.background().rgb()));
            g.fillRect(0, 0, IMAGE_SIDE, IMAGE_SIDE);
            g.setColor(new Color(attributes.colour().rgb()));
            g.fill(outline());
        } finally {
            g.dispose();
        }
        return RgbImage.fromBufferedImage(image);
    }

    /** The outline of {@code kind} for side {@code s} centred on {@code (cx, cy)}. */
    static Shape outline(ShapeKind kind, double s, double cx, double cy) {
        double h = s / 2;
        return switch (kind) {
            case CIRCLE -> new Ellipse2D.Double(cx - h, cy - h, s, s);
            case SQUARE -> new Rectangle2D.Double(cx - h, cy - h, s, s);
            case TRIANGLE -> {
                Path2D.Double p = new Path2D.Double();
                p.moveTo(cx, cy - h);
                p.lineTo(cx - h, cy + h);
                p.lineTo(cx + h, cy + h);
                p.closePath();
                yield p;
            }
            case STAR -> {
                Path2D.Double p = new Path2D.Double();
                for (int k = 0; k < 10; k++) {
                    double radius = k % 2 == 0 ? h : STAR_INNER_RATIO * h;
                    double angle = Math.toRadians(-90 + 36 * k);
                    double x = cx + radius * Math.cos(angle);
                    double y = cy + radius * Math.sin(angle);
                    if (k == 0) {
                        p.moveTo(x, y);
                    } else {
                        p.lineTo(x, y);
                    }
                }
                p.closePath();
                yield p;
            }
        };
    }

    /** The outline of {@code kind} stretched so that its bounding box is {@code box}. */
    static Shape fitted(ShapeKind kind, Rectangle2D box) {
        Shape unit = outline(kind, 1, 0, 0);
        Rectangle2D b = unit.getBounds2D();
        AffineTransform t = new AffineTransform();
        t.translate(box.getX(), box.getY());
        t.scale(box.getWidth() / b.getWidth(), box.getHeight() / b.getHeight());
        t.translate(-b.getX(), -b.getY());
        return t.createTransformedShape(unit);
    }

    /** The rendering settings of every Shapes drawing: anti-aliased, sub-pixel exact geometry. */
    static void antiAliased(Graphics2D g) {
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
    }
}
