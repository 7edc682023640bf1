package io.hicache.cli;

import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.GenerationResult;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.TextEmbeddings;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A pipeline that notes the backend's own measures (Chipmunk's FLOP fractions and cache bytes) of
 * every generation of {@code steps} steps that does not measure forecast errors (the timed ones of
 * a benchmark), by cache configuration, next to the peak bytes of HiCache's cache; the benchmark
 * prints them under its table. Nothing is noted for backends without such measures.
 */
final class BackendMetricsRecorder implements ImagePipeline {
    private final ImagePipeline pipeline;
    private final int steps;
    private final Map<String, List<Map<String, Double>>> byConfig = new LinkedHashMap<>();

    BackendMetricsRecorder(ImagePipeline pipeline, int steps) {
        this.pipeline = pipeline;
        this.steps = steps;
    }

    @Override
    public GenerationResult generate(GenerationRequest request) throws Exception {
        GenerationResult g = pipeline.generate(request);
        Map<String, Double> m = g.stats().backendMetrics();
        if (!m.isEmpty() && request.steps() == steps && !request.measureForecastError()) {
            Map<String, Double> row = new LinkedHashMap<>(m);
            row.put("hicache_cache_peak_bytes", (double) g.stats().cache().peakBytesHeld());
            byConfig.computeIfAbsent(request.cache().tag(), k -> new ArrayList<>()).add(row);
        }
        return g;
    }

    /** One line per configuration with the mean of each measure, or "" when none was noted. */
    String table() {
        if (byConfig.isEmpty()) {
            return "";
        }
        StringBuilder s = new StringBuilder("backend measures (mean over prompts; FLOP fractions of every step run "
                + "dense):\n");
        byConfig.forEach((tag, rows) -> {
            Map<String, Double> mean = new LinkedHashMap<>();
            rows.forEach(r -> r.forEach((k, v) -> mean.merge(k, v / rows.size(), Double::sum)));
            s.append(String.format(Locale.ROOT, "  %-28s", tag));
            // fractions first, then memory
            mean.forEach((k, v) -> s.append(k.endsWith("_bytes") ? "" : String.format(Locale.ROOT, "  %s %.3f", k, v)));
            mean.forEach((k, v) -> s.append(k.endsWith("_bytes")
                    ? String.format(Locale.ROOT, "  %s %.1f MiB", k.replace("_bytes", ""), v / 1048576.0) : ""));
            s.append('\n');
        });
        return s.toString();
    }

    @Override
    public TextEmbeddings encode(String prompt) throws Exception {
        return pipeline.encode(prompt);
    }

    @Override
    public void releaseTextEncoders() {
        pipeline.releaseTextEncoders();
    }

    @Override
    public String describe() {
        return pipeline.describe();
    }

    @Override
    public long parameterBytes() {
        return pipeline.parameterBytes();
    }

    @Override
    public void close() {
        pipeline.close();
    }
}
