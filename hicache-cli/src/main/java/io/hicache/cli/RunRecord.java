package io.hicache.cli;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import io.hicache.core.HiCacheVersion;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.util.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code run.json}: what a run was asked to do, on what, and how it went. Written atomically when
 * the run starts (status {@code running}), when it ends ({@code finished}, or {@code failed} when
 * no model could be loaded or the run's files could not be written), and from a shutdown hook when
 * it is interrupted ({@code interrupted}).
 */
final class RunRecord {
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .addModule(new SimpleModule().addSerializer(Path.class, new ToStringSerializer()))
            .build();

    private final Path file;
    private final Map<String, Object> fixed = new LinkedHashMap<>();
    private final Instant started = Instant.now();
    private final long startNanos = System.nanoTime();
    private long generationStartNanos;
    private long lastFinishNanos;
    private int ok;
    private int failed;
    private int notRun;
    private double okSeconds;
    private long fullSteps;
    private long forecastSteps;
    private final Map<String, Map<String, Number>> perDevice = new TreeMap<>();
    private final List<Map<String, Object>> failures = new ArrayList<>();
    /** Per image index, the backend's own measures (Chipmunk's FLOP fractions), for backends that have them. */
    private final Map<Integer, Map<String, Double>> backendMetrics = new TreeMap<>();
    private List<Map<String, Object>> workers = List.of();
    private Map<String, Object> encoder;

    RunRecord(Path file, RunConfig config, List<String> args, HiCacheRuntime.RuntimeInfo runtime,
            List<Device> devices, int workersPerDevice, PipelineSpec workerSpec, String backend,
            Map<String, String> backendSettings, RunPlan plan, int alreadyDone) {
        this.file = file;
        fixed.put("command", args);
        fixed.put("options", config);
        fixed.put("backend", backend);
        if (!backendSettings.isEmpty()) {
            fixed.put("backend_settings", backendSettings);
        }
        fixed.put("model", workerSpec.model());
        fixed.put("dtype", workerSpec.dtype().displayName());
        fixed.put("components", workerSpec.components());
        fixed.put("devices", devices.stream().map(DeviceChoice::name).toList());
        fixed.put("workers_per_device", workersPerDevice);
        fixed.put("cpu_cores", runtime.cpuCores);
        fixed.put("intra_op_threads", runtime.intraOpThreads);
        Map<String, Object> versions = new LinkedHashMap<>();
        versions.put("hicache", HiCacheVersion.get());
        versions.put("djl", runtime.djlVersion);
        versions.put("engine", runtime.engine + " " + runtime.engineVersion);
        versions.put("java", System.getProperty("java.version"));
        versions.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        fixed.put("versions", versions);
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("prompts_in_list", plan.prompts().size());
        p.put("first_prompt", plan.firstPrompt());
        p.put("end_prompt", plan.endPrompt());
        p.put("images_per_prompt", plan.imagesPerPrompt());
        p.put("images_selected", plan.selectedImages());
        p.put("shard", plan.shard());
        p.put("images_in_shard", plan.jobs().size());
        p.put("already_done", alreadyDone);
        p.put("to_make", plan.jobs().size() - alreadyDone);
        fixed.put("plan", p);
    }

    synchronized void generationStarted() {
        generationStartNanos = System.nanoTime();
    }

    synchronized void add(ManifestEntry e) {
        lastFinishNanos = System.nanoTime();
        String device = e.device() == null ? "none" : e.device();
        Map<String, Number> d = perDevice.computeIfAbsent(device, k -> new LinkedHashMap<>(Map.of("ok", 0, "failed", 0,
                "seconds", 0.0)));
        if (e.ok()) {
            ok++;
            okSeconds += e.seconds();
            fullSteps += e.fullSteps() == null ? 0 : e.fullSteps();
            forecastSteps += e.forecastSteps() == null ? 0 : e.forecastSteps();
            d.put("ok", d.get("ok").intValue() + 1);
            if (e.backendMetrics() != null) {
                backendMetrics.put(e.index(), e.backendMetrics());
            }
        } else {
            if ("not-run".equals(e.errorKind())) {
                notRun++;
            } else {
                failed++;
            }
            d.put("failed", d.get("failed").intValue() + 1);
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("index", e.index());
            f.put("prompt", e.prompt());
            f.put("error_kind", e.errorKind());
            f.put("error", e.error());
            failures.add(f);
        }
        d.put("seconds", d.get("seconds").doubleValue() + e.seconds());
    }

    synchronized void workers(List<Map<String, Object>> reports, Map<String, Object> encoderReport) {
        this.workers = reports;
        this.encoder = encoderReport;
    }

    synchronized int ok() {
        return ok;
    }

    synchronized int failedOrNotRun() {
        return failed + notRun;
    }

    /** Images per minute while generating (from the start of loading to the last image). */
    synchronized double imagesPerMinute() {
        double seconds = (lastFinishNanos - generationStartNanos) / 1e9;
        return ok == 0 || seconds <= 0 ? 0 : ok / seconds * 60;
    }

    synchronized void write(String status, Integer exitCode) throws IOException {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("status", status);
        if (exitCode != null) {
            root.put("exit_code", exitCode);
        }
        root.putAll(fixed);
        root.put("started_at", started.toString());
        if (!status.equals("running")) {
            root.put("finished_at", Instant.now().toString());
        }
        root.put("wall_seconds", (System.nanoTime() - startNanos) / 1e9);
        Map<String, Object> totals = new LinkedHashMap<>();
        totals.put("ok", ok);
        totals.put("failed", failed);
        totals.put("not_run", notRun);
        totals.put("images_per_minute", imagesPerMinute());
        totals.put("mean_seconds_per_image", ok == 0 ? 0 : okSeconds / ok);
        totals.put("full_steps", fullSteps);
        totals.put("forecast_steps", forecastSteps);
        root.put("totals", totals);
        root.put("per_device", perDevice);
        root.put("workers", workers);
        if (encoder != null) {
            root.put("encoder", encoder);
        }
        root.put("failures", failures);
        if (!backendMetrics.isEmpty()) {
            root.put("backend_metrics_per_image", backendMetrics);
        }
        try {
            AtomicFiles.writeString(file, JSON.writeValueAsString(root) + "\n");
        } catch (IOException e) {
            throw Errors.cannotWrite(file, e);
        }
    }
}
