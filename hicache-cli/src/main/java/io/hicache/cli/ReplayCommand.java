package io.hicache.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.cache.Replay;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import io.hicache.core.weights.SafetensorsFile;
import io.hicache.core.weights.SafetensorsWriter;
import io.hicache.core.weights.TensorInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code hicache replay}: offline calibration on a recorded feature trajectory (one site of one
 * layer), no model needed. Reports the per-step forecast error a configuration would make, and with
 * {@code --sweep} ranks many configurations.
 */
@Command(header = "Calibrates the cache offline on a recorded feature trajectory (no model needed).", name = "replay", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class, sortOptions = false, usageHelpAutoWidth = true,
        description = {
            "Replays a recorded feature trajectory through the cache and reports the forecast error per step. "
                    + "Input: a safetensors tensor [T, ...] (f32/f16/bf16, first axis = step). Output: 'predictions' "
                    + "F32 [T, ...] (the true feature at full steps, the forecast elsewhere) and 'full_steps' I64.",
            "With --sweep the cache options take comma-separated lists, and every combination is ranked by its mean "
                    + "forecast error."})
public final class ReplayCommand extends ToolCommand {
    @Option(names = "--trajectory", required = true, paramLabel = "FILE", description = "Safetensors file with the trajectory.")
    Path trajectory;

    @Option(names = "--tensor", paramLabel = "NAME", defaultValue = "features", description = "Tensor name (default: ${DEFAULT-VALUE}).")
    String tensor;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "HiCache",
            description = "Cache mode(s): original, FORA, Taylor, Taylor-Scaled, HiCache, HiCache-Analytic (default: ${DEFAULT-VALUE}).")
    String modes;

    @Mixin
    CacheParameterOptions cache = new CacheParameterOptions();

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "float32",
            description = "Compute dtype of the cache: float32 or bfloat16 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--sweep", description = "Try every combination of the listed values and rank them.")
    boolean sweep;

    @Option(names = "--output", paramLabel = "FILE", description = "Write predictions and full_steps here (safetensors).")
    Path output;

    @Option(names = "--report", paramLabel = "FILE", description = "Write a JSON report here.")
    Path report;

    @Override
    void run(PrintWriter out) throws Exception {
        List<CacheConfig> configs = configs();
        TensorType computeType = TensorType.parseCompute(dtype);
        if (!sweep && configs.size() > 1) {
            throw new IllegalArgumentException("several values given: add --sweep to try every combination");
        }
        if (sweep && output != null) {
            throw new IllegalArgumentException("--output writes one configuration's predictions; drop it with --sweep");
        }
        PathArguments.requireFile("--trajectory", trajectory);
        if (output != null) {
            PathArguments.requireWritableFile("--output", output);
        }
        if (report != null) {
            PathArguments.requireWritableFile("--report", report);
        }
        try (SafetensorsFile file = SafetensorsFile.open(trajectory);
                NDManager manager = NDManager.newBaseManager()) {
            TensorInfo info = checkTrajectory(file);
            int steps = (int) info.shapeArray()[0];
            long stepBytes = info.byteSize() / steps;
            long[] stepShape = Arrays.copyOfRange(info.shapeArray(), 1, info.shapeArray().length);
            Replay.Trajectory source = (t, m) -> {
                try {
                    return Kernels.on(m.getDevice()).fromBytes(file.bytes(tensor, t * stepBytes, stepBytes),
                            info.type(), new ai.djl.ndarray.types.Shape(stepShape), m);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            };
            checkFinite(steps, source, manager);
            if (sweep) {
                List<Replay.Result> results = Replay.sweep(configs, steps, source, computeType, manager);
                printSweep(out, results);
                if (report != null) {
                    writeReport(info, results);
                }
            } else {
                Replay.Result result = output == null
                        ? Replay.run(configs.get(0), steps, source, computeType, manager, null)
                        : runWritingPredictions(configs.get(0), steps, stepShape, source, computeType, manager);
                printResult(out, result);
                if (report != null) {
                    writeReport(info, List.of(result));
                }
            }
        }
    }

    private List<CacheConfig> configs() {
        List<CacheMode> ms = new ArrayList<>();
        for (String m : modes.split(",", -1)) {
            if (m.isBlank()) {
                throw new UsageException("--mode: empty value in '" + modes + "'");
            }
            try {
                ms.add(CacheMode.parse(m));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--mode: " + e.getMessage(), e);
            }
        }
        return cache.grid(ms, null, Map.of());
    }

    private TensorInfo checkTrajectory(SafetensorsFile file) {
        if (!file.contains(tensor)) {
            throw new IllegalArgumentException(trajectory + " has no tensor '" + tensor + "' (it has "
                    + String.join(", ", file.names()) + ")");
        }
        TensorInfo info = file.info(tensor);
        if (!info.type().isFloatingPoint() || info.type() == TensorType.F64) {
            throw new IllegalArgumentException("tensor '" + tensor + "' is " + info.type()
                    + "; a trajectory must be F32, F16 or BF16");
        }
        if (info.shapeArray().length < 2 || info.shapeArray()[0] < 2) {
            throw new IllegalArgumentException("tensor '" + tensor + "' has shape " + Arrays.toString(info.shapeArray())
                    + "; expected [T, ...] with T >= 2 steps and at least one feature axis");
        }
        if (info.shapeArray()[0] > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many steps: " + info.shapeArray()[0]);
        }
        return info;
    }

    private static void checkFinite(int steps, Replay.Trajectory source, NDManager manager) {
        for (int t = 0; t < steps; t++) {
            try (NDManager m = manager.newSubManager()) {
                NDArray x = source.step(t, m);
                if (!Kernels.of(x).allFinite(x)) {
                    throw new IllegalArgumentException("step " + t + " of the trajectory contains NaN or infinite values");
                }
            }
        }
    }

    /** Streams the predictions into the output file while replaying, so nothing T-sized is held. */
    private Replay.Result runWritingPredictions(CacheConfig config, int steps, long[] stepShape,
            Replay.Trajectory source, TensorType computeType, NDManager manager) throws IOException {
        long[] shape = new long[stepShape.length + 1];
        shape[0] = steps;
        System.arraycopy(stepShape, 0, shape, 1, stepShape.length);
        long bytes = 4L * Arrays.stream(shape).reduce(1, Math::multiplyExact);
        Replay.Result[] result = new Replay.Result[1];
        List<Integer> full = config.schedule().fullSteps(steps);
        ByteBuffer fullBytes = ByteBuffer.allocate(8 * full.size()).order(ByteOrder.LITTLE_ENDIAN);
        full.forEach(s -> fullBytes.putLong(s));
        fullBytes.flip();
        new SafetensorsWriter()
                .metadata("producer", "hicache replay")
                .metadata("config", config.tag())
                .add("predictions", TensorType.F32, shape, bytes, channel -> result[0] = Replay.run(config, steps,
                        source, computeType, manager, p -> write(channel, p)))
                .add("full_steps", TensorType.I64, new long[] {full.size()}, fullBytes)
                .write(output);
        return result[0];
    }

    private static void write(FileChannel channel, NDArray prediction) {
        NDArray f32 = io.hicache.core.runtime.Precision.toFloat32(prediction);
        ByteBuffer b = f32.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        try {
            while (b.hasRemaining()) {
                channel.write(b);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void printResult(PrintWriter out, Replay.Result r) {
        out.printf(Locale.ROOT, "%s over %d steps: %d full (%s), speedup %.2fx%n", r.config().tag(), r.steps(),
                r.fullSteps().size(), r.config().schedule().pattern(r.steps()), r.speedup());
        out.println("step  kind      rel. L2 error");
        for (int t = 0; t < r.steps(); t++) {
            boolean full = r.fullSteps().contains(t);
            out.printf(Locale.ROOT, "%4d  %-8s  %s%n", t, full ? "full" : "forecast",
                    full ? "-" : String.format(Locale.ROOT, "%.6f", r.stepErrors()[t]));
        }
        out.printf(Locale.ROOT, "mean forecast error %.6f, cache held %s, %.2f s%n", r.meanForecastError(),
                Errors.bytes(r.peakBytesHeld()), r.seconds());
    }

    private static void printSweep(PrintWriter out, List<Replay.Result> results) {
        out.printf(Locale.ROOT, "%4s  %-16s %8s %5s %4s %6s %6s %8s  %s%n", "rank", "mode", "interval", "order", "fe",
                "sigma", "full", "speedup", "mean forecast error");
        int rank = 1;
        for (Replay.Result r : results) {
            CacheConfig c = r.config();
            out.printf(Locale.ROOT, "%4d  %-16s %8d %5s %4d %6s %6d %7.2fx  %.6f%n", rank++, c.mode().displayName(),
                    c.interval(), c.mode() == CacheMode.FORA || c.mode() == CacheMode.ORIGINAL ? "-" : c.maxOrder(),
                    c.firstEnhance(),
                    c.mode() == CacheMode.HICACHE || c.mode() == CacheMode.TAYLOR_SCALED
                            ? String.format(Locale.ROOT, "%.3g", c.hicacheScale()) : "-",
                    r.fullSteps().size(), r.speedup(), r.meanForecastError());
        }
    }

    private void writeReport(TensorInfo info, List<Replay.Result> results) throws IOException {
        List<Map<String, Object>> runs = new ArrayList<>();
        for (Replay.Result r : results) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("config", r.config());
            m.put("tag", r.config().tag());
            m.put("steps", r.steps());
            m.put("full_steps", r.fullSteps());
            m.put("num_full", r.fullSteps().size());
            m.put("speedup", r.speedup());
            m.put("mean_forecast_error", r.meanForecastError());
            m.put("step_errors", r.stepErrors());
            m.put("peak_cache_bytes", r.peakBytesHeld());
            m.put("seconds", r.seconds());
            runs.add(m);
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("trajectory", trajectory.toString());
        root.put("tensor", tensor);
        root.put("shape", info.shapeArray());
        root.put("dtype", info.type().safetensorsName());
        root.put("compute_dtype", TensorType.parseCompute(dtype).displayName());
        root.put(sweep ? "results" : "result", sweep ? runs : runs.get(0));
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        AtomicFiles.writeString(report, json.writeValueAsString(root) + "\n");
    }
}
