package io.hicache.train;

import io.hicache.cli.report.LinePlot;
import io.hicache.core.image.PngWriter;
import io.hicache.core.util.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The loss history of one training phase: a CSV ({@code step,<columns>}) and a loss-curve PNG,
 * both rewritten atomically at every checkpoint. A resumed run keeps the rows up to the
 * checkpoint's step, so the log always matches the weights.
 */
final class LossLog {
    private final Path csv;
    private final Path png;
    private final String title;
    private final List<String> columns;
    private final List<double[]> rows = new ArrayList<>();

    private LossLog(Path csv, Path png, String title, List<String> columns) {
        this.csv = csv;
        this.png = png;
        this.title = title;
        this.columns = columns;
    }

    /** The log at {@code csv}, keeping the rows of steps ≤ {@code upToStep} of an earlier run. */
    static LossLog open(Path csv, Path png, String title, List<String> columns, int upToStep) throws IOException {
        LossLog log = new LossLog(csv, png, title, columns);
        if (Files.isRegularFile(csv) && upToStep > 0) {
            List<String> lines = Files.readAllLines(csv);
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.split(",");
                double[] row = new double[f.length];
                for (int i = 0; i < f.length; i++) {
                    row[i] = Double.parseDouble(f[i]);
                }
                if (row[0] <= upToStep) {
                    log.rows.add(row);
                }
            }
        }
        return log;
    }

    void add(int step, float[] values) {
        double[] row = new double[values.length + 1];
        row[0] = step;
        for (int i = 0; i < values.length; i++) {
            row[i + 1] = values[i];
        }
        rows.add(row);
    }

    /** Mean of column {@code column} (0 = the loss) over the last {@code n} rows. */
    double recentMean(int column, int n) {
        int from = Math.max(0, rows.size() - n);
        return rows.subList(from, rows.size()).stream().mapToDouble(r -> r[column + 1]).average().orElse(Double.NaN);
    }

    void write() throws IOException {
        StringBuilder sb = new StringBuilder("step,").append(String.join(",", columns)).append('\n');
        for (double[] r : rows) {
            sb.append((int) r[0]);
            for (int i = 1; i < r.length; i++) {
                sb.append(',').append(String.format(Locale.ROOT, "%.6g", r[i]));
            }
            sb.append('\n');
        }
        AtomicFiles.writeString(csv, sb.toString());
        if (rows.size() < 2) {
            return;
        }
        double[] x = new double[rows.size()];
        double[] raw = new double[rows.size()];
        double[] smooth = new double[rows.size()];
        double ema = rows.get(0)[1];
        for (int i = 0; i < rows.size(); i++) {
            x[i] = rows.get(i)[0];
            raw[i] = rows.get(i)[1];
            ema = i == 0 ? raw[i] : 0.98 * ema + 0.02 * raw[i];
            smooth[i] = ema;
        }
        PngWriter.write(png, LinePlot.create().title(title).xLabel("step").yLabel(columns.get(0)).logY(true)
                .series(columns.get(0), x, raw).series(columns.get(0) + " (EMA 0.98)", x, smooth).render(), Map.of());
    }
}
