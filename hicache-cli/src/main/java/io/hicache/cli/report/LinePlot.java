package io.hicache.cli.report;

import io.hicache.core.image.RgbImage;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A line chart of several series (e.g. forecast error against denoising step, one line per cache
 * mode) with axes, ticks, grid lines and a legend; optionally a logarithmic y axis. The image is
 * exactly {@code width × height} pixels whatever fonts the platform has (see {@link LabelFont}).
 *
 * <p>Non-finite points, and points with y ≤ 0 on a log axis, are left out and break the line.
 */
public final class LinePlot {
    /** Tableau 10: distinguishable, and readable by most colour-blind viewers. */
    private static final Color[] PALETTE = {
        new Color(0x4E79A7), new Color(0xF28E2B), new Color(0xE15759), new Color(0x76B7B2), new Color(0x59A14F),
        new Color(0xEDC948), new Color(0xB07AA1), new Color(0xFF9DA7), new Color(0x9C755F), new Color(0xBAB0AC),
    };
    private static final Color AXIS = new Color(0x30, 0x30, 0x30);
    private static final Color GRID = new Color(0xE4, 0xE4, 0xE4);

    private record Series(String name, double[] x, double[] y) {}

    private final List<Series> series = new ArrayList<>();
    private String title = "";
    private String xLabel = "";
    private String yLabel = "";
    private boolean logY;
    private int width = 960;
    private int height = 600;
    private int fontSize = 14;
    private LabelFont font;

    public static LinePlot create() {
        return new LinePlot();
    }

    public LinePlot title(String title) {
        this.title = title;
        return this;
    }

    public LinePlot xLabel(String label) {
        this.xLabel = label;
        return this;
    }

    public LinePlot yLabel(String label) {
        this.yLabel = label;
        return this;
    }

    /** Logarithmic y axis with decade ticks (errors spanning orders of magnitude). */
    public LinePlot logY(boolean logY) {
        this.logY = logY;
        return this;
    }

    /** Image size in pixels; default 960×600. */
    public LinePlot size(int width, int height) {
        if (width < 200 || height < 150) {
            throw new IllegalArgumentException("plot size " + width + "x" + height + " is too small (min 200x150)");
        }
        this.width = width;
        this.height = height;
        return this;
    }

    /** Label text size in pixels; default 14. */
    public LinePlot fontSize(int px) {
        this.fontSize = px;
        return this;
    }

    /** Adds a series of points (x[i], y[i]), drawn in the order given. */
    public LinePlot series(String name, double[] x, double[] y) {
        if (x.length != y.length) {
            throw new IllegalArgumentException("series '" + name + "': " + x.length + " x values, " + y.length + " y values");
        }
        series.add(new Series(name, x.clone(), y.clone()));
        return this;
    }

    /** Forces a font (tests use it to draw with the bitmap fallback on machines that have fonts). */
    LinePlot font(LabelFont font) {
        this.font = font;
        return this;
    }

    public RgbImage render() {
        LabelFont f = font != null ? font : LabelFont.sansSerif(fontSize);
        int line = f.lineHeight();
        int pad = Math.max(6, f.size / 2);

        double[] xr = range(false);
        double[] yr = range(true);
        Axis xAxis = Axis.linear(xr[0], xr[1]);
        Axis yAxis = logY ? Axis.log(yr[0], yr[1]) : Axis.linear(yr[0], yr[1]);

        int yTickWidth = 0;
        for (double t : yAxis.ticks) {
            yTickWidth = Math.max(yTickWidth, f.width(yAxis.label(t)));
        }
        int plotLeft = pad + Math.min(yTickWidth, width / 4) + pad;
        int plotRight = width - 2 * pad;
        int plotTop = pad + line + (yLabel.isEmpty() ? 0 : line) + pad;
        int plotBottom = height - pad - line - (xLabel.isEmpty() ? 0 : line) - pad;
        if (plotRight - plotLeft < 50 || plotBottom - plotTop < 50) {
            throw new IllegalArgumentException("font size " + f.size + " leaves no room for the plot at "
                    + width + "x" + height);
        }

        BufferedImage canvas = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = canvas.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            String t = f.fit(title, width - 2 * pad);
            f.draw(g, t, (width - f.width(t)) / 2, pad, AXIS);
            if (!yLabel.isEmpty()) {
                f.draw(g, f.fit(yLabel, width - 2 * pad), pad, pad + line, AXIS);
            }

            Transform tr = new Transform(xAxis, yAxis, logY, plotLeft, plotRight, plotTop, plotBottom);
            g.setStroke(new BasicStroke(1f));
            for (double v : yAxis.ticks) {
                int py = (int) Math.round(tr.py(v));
                g.setColor(GRID);
                g.drawLine(plotLeft, py, plotRight, py);
                String label = f.fit(yAxis.label(v), plotLeft - 2 * pad);
                f.draw(g, label, plotLeft - pad - f.width(label), py - line / 2, AXIS);
            }
            for (double v : xAxis.ticks) {
                int px = (int) Math.round(tr.px(v));
                g.setColor(GRID);
                g.drawLine(px, plotTop, px, plotBottom);
                String label = xAxis.label(v);
                f.draw(g, label, px - f.width(label) / 2, plotBottom + pad / 2, AXIS);
            }
            if (!xLabel.isEmpty()) {
                String label = f.fit(xLabel, width - 2 * pad);
                f.draw(g, label, (plotLeft + plotRight - f.width(label)) / 2, plotBottom + pad / 2 + line, AXIS);
            }
            g.setColor(AXIS);
            g.drawRect(plotLeft, plotTop, plotRight - plotLeft, plotBottom - plotTop);

            g.setClip(plotLeft, plotTop, plotRight - plotLeft + 1, plotBottom - plotTop + 1);
            g.setStroke(new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
            for (int s = 0; s < series.size(); s++) {
                drawSeries(g, series.get(s), PALETTE[s % PALETTE.length], tr);
            }
            g.setClip(null);
            drawLegend(g, f, plotLeft, plotRight, plotTop, pad);
        } finally {
            g.dispose();
        }
        return RgbImage.fromBufferedImage(canvas);
    }

    private boolean usable(double x, double y) {
        return Double.isFinite(x) && Double.isFinite(y) && (!logY || y > 0);
    }

    /** [min, max] of the usable x (or y) values; [0, 1] (log: [1, 10]) when there are none. */
    private double[] range(boolean forY) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x.length; i++) {
                if (usable(s.x[i], s.y[i])) {
                    double v = forY ? s.y[i] : s.x[i];
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
        }
        if (min > max) {
            return forY && logY ? new double[] {1, 10} : new double[] {0, 1};
        }
        return new double[] {min, max};
    }

    private void drawSeries(Graphics2D g, Series s, Color color, Transform tr) {
        g.setColor(color);
        Path2D.Double path = new Path2D.Double();
        boolean penDown = false;
        int usablePoints = 0;
        for (int i = 0; i < s.x.length; i++) {
            if (!usable(s.x[i], s.y[i])) {
                penDown = false;
                continue;
            }
            usablePoints++;
            double px = tr.px(s.x[i]);
            double py = tr.py(s.y[i]);
            if (penDown) {
                path.lineTo(px, py);
            } else {
                path.moveTo(px, py);
                penDown = true;
            }
        }
        g.draw(path);
        if (usablePoints <= 60) { // markers only where they stay distinguishable
            for (int i = 0; i < s.x.length; i++) {
                if (usable(s.x[i], s.y[i])) {
                    g.fillOval((int) Math.round(tr.px(s.x[i])) - 3, (int) Math.round(tr.py(s.y[i])) - 3, 7, 7);
                }
            }
        }
    }

    private void drawLegend(Graphics2D g, LabelFont f, int plotLeft, int plotRight, int plotTop, int pad) {
        if (series.isEmpty()) {
            return;
        }
        int line = f.lineHeight();
        int swatch = 2 * f.size;
        int maxText = (plotRight - plotLeft) / 2;
        int textWidth = 0;
        for (Series s : series) {
            textWidth = Math.max(textWidth, f.width(f.fit(s.name, maxText)));
        }
        int boxWidth = pad + swatch + pad + textWidth + pad;
        int boxHeight = series.size() * line + pad;
        int x = plotRight - pad - boxWidth;
        int y = plotTop + pad;
        g.setColor(Color.WHITE);
        g.fillRect(x, y, boxWidth, boxHeight);
        g.setColor(GRID);
        g.setStroke(new BasicStroke(1f));
        g.drawRect(x, y, boxWidth, boxHeight);
        for (int s = 0; s < series.size(); s++) {
            int top = y + pad / 2 + s * line;
            g.setColor(PALETTE[s % PALETTE.length]);
            g.setStroke(new BasicStroke(3f));
            g.drawLine(x + pad, top + line / 2, x + pad + swatch, top + line / 2);
            f.draw(g, f.fit(series.get(s).name, maxText), x + pad + swatch + pad, top, AXIS);
        }
    }

    /** Maps data coordinates to pixels. */
    private record Transform(Axis x, Axis y, boolean logY, int left, int right, int top, int bottom) {
        double px(double v) {
            return left + (v - x.min) / (x.max - x.min) * (right - left);
        }

        double py(double v) {
            double t = logY ? (Math.log10(v) - Math.log10(y.min)) / (Math.log10(y.max) - Math.log10(y.min))
                    : (v - y.min) / (y.max - y.min);
            return bottom - t * (bottom - top);
        }
    }

    /** An axis range widened to "nice" tick values, with its ticks. */
    static final class Axis {
        final double min;
        final double max;
        final List<Double> ticks = new ArrayList<>();
        private final boolean log;
        private final int decimals;

        private Axis(double min, double max, boolean log, int decimals) {
            this.min = min;
            this.max = max;
            this.log = log;
            this.decimals = decimals;
        }

        /**
         * About five ticks at multiples of 1, 2 or 5 × 10^k; the range is widened to the enclosing
         * multiples. A degenerate range (one value) is widened by one unit on each side.
         */
        static Axis linear(double lo, double hi) {
            if (lo == hi) {
                double unit = lo == 0 ? 1 : Math.pow(10, Math.floor(Math.log10(Math.abs(lo))));
                lo -= unit;
                hi += unit;
            }
            double raw = (hi - lo) / 5;
            double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
            double step = magnitude * (raw / magnitude < 1.5 ? 1 : raw / magnitude < 3.5 ? 2 : raw / magnitude < 7.5 ? 5 : 10);
            long first = (long) Math.floor(lo / step + 1e-9);
            long last = (long) Math.ceil(hi / step - 1e-9);
            Axis a = new Axis(first * step, last * step, false, Math.max(0, -(int) Math.floor(Math.log10(step) + 1e-9)));
            for (long i = first; i <= last; i++) {
                a.ticks.add(i * step);
            }
            return a;
        }

        /** Decades 10^k covering [lo, hi] (at least one decade); every n-th labelled so at most ~8 remain. */
        static Axis log(double lo, double hi) {
            int kLo = (int) Math.floor(Math.log10(lo) + 1e-9);
            int kHi = (int) Math.ceil(Math.log10(hi) - 1e-9);
            if (kHi == kLo) {
                kHi++;
            }
            Axis a = new Axis(Math.pow(10, kLo), Math.pow(10, kHi), true, 0);
            int every = (kHi - kLo + 7) / 8;
            for (int k = kLo; k <= kHi; k += every) {
                a.ticks.add(Math.pow(10, k));
            }
            return a;
        }

        /** Tick text: fixed decimals from the step (linear); 0.001..1000 or 1e-5 style (log). */
        String label(double v) {
            if (log) {
                int k = (int) Math.round(Math.log10(v));
                return k >= -3 && k <= 3 ? BigDecimal.ONE.scaleByPowerOfTen(k).toPlainString() : "1e" + k;
            }
            return String.format(Locale.ROOT, "%." + decimals + "f", v);
        }
    }
}
