package io.hicache.cli;

import ai.djl.Device;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.hicache.core.bench.BenchmarkPlan;
import io.hicache.core.bench.BenchmarkReport;
import io.hicache.core.bench.BenchmarkRunner;
import io.hicache.core.bench.MachineGemm;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.cli.report.ImageGrid;
import io.hicache.cli.report.LinePlot;
import io.hicache.core.image.PngWriter;
import io.hicache.core.image.RgbImage;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code hicache bench}: the same prompts and seeds with {@code original} and each requested
 * cache configuration, reporting wall-clock next to FLOPs speedup, memory, and fidelity to the
 * uncached image; writes a table, JSON, a comparison grid and an error-vs-step plot.
 */
@Command(header = "Measures speed, FLOPs, memory and quality of cache configurations against original.", name = "bench", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class, sortOptions = false, usageHelpAutoWidth = true,
        description = "Measures speed (wall clock of the denoising loop and end to end, next to the FLOPs speedup), "
                + "memory and quality (PSNR, SSIM and latent error against the uncached image of the same seed, "
                + "per-module forecast error) of cache configurations, and, when every prompt is a Shapes prompt "
                + "(the built-in demo task), faithfulness to the prompts. Prompt i gets seed S + i; steps, size "
                + "and guidance are the model's unless given. Writes bench.txt, bench.json, grid.png, "
                + "error_vs_step.png and every image (images/CONFIG/I.png) to the output directory. The model is "
                + "builtin:flux-tiny unless --model-path says otherwise; builtin:flux-mid gives numbers that mean "
                + "something on a CPU.")
public final class BenchCommand extends ToolCommand {
    /**
     * The backend's built-in tiny model ({@code builtin:flux-tiny}, {@code builtin:qwen-image-tiny}): a
     * benchmark runs out of the box; builtin:flux-mid is the meaningful one on a CPU.
     */
    static String defaultModel(Backend backend) {
        return "builtin:" + backend.name() + "-tiny";
    }

    @Mixin
    ToolOptions.Model model = new ToolOptions.Model();

    @Mixin
    ToolOptions.Prompts prompts = new ToolOptions.Prompts();

    @Option(names = "--modes", defaultValue = "original,FORA,Taylor,HiCache", paramLabel = "LIST",
            description = "Cache modes to compare (default: ${DEFAULT-VALUE}).")
    String modes;

    /** Bench compares these intervals unless --interval lists others. */
    static final List<Integer> DEFAULT_INTERVALS = List.of(3, 5, 7);

    @Mixin
    CacheParameterOptions cache = new CacheParameterOptions();

    @Mixin
    ChipmunkOptions chipmunk = new ChipmunkOptions();

    @Option(names = "--limit", defaultValue = "2", paramLabel = "N", description = "Use the first N prompts (default: ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = {"--steps", "--num-steps", "--num_steps"}, paramLabel = "N",
            description = "Denoising steps (default: the model's, as for generation).")
    Integer steps;

    @Option(names = "--width", paramLabel = "PX", description = "Image width, a multiple of 16 (default: the model's).")
    Integer width;

    @Option(names = "--height", paramLabel = "PX", description = "Image height, a multiple of 16 (default: the model's).")
    Integer height;

    @Option(names = {"--guidance", "--guidance-scale", "--guidance_scale"}, paramLabel = "G",
            description = "Guidance scale a guidance-distilled model embeds (default: the model's).")
    Double guidance;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Seed of the first prompt (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--warmup", defaultValue = "1", paramLabel = "N", description = "Untimed generations first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--repeat", defaultValue = "1", paramLabel = "N", description = "Rounds of timed generations: every configuration runs once per round, interleaved, and the median over rounds counts (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--site-errors", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Also measure per-module forecast error (one extra, untimed run per configuration; default: on).")
    boolean siteErrors;

    @Option(names = "--gemm", defaultValue = "4096x3072", paramLabel = "TOKENSxDIM",
            description = "Shape of the GEMM timed as the machine's speed yardstick (default: ${DEFAULT-VALUE}, "
                    + "a FLUX.1 linear layer at 1024²).")
    String gemm;

    @Option(names = {"--output-dir", "--output_dir"}, defaultValue = "bench", paramLabel = "DIR", description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path outputDir;

    @Override
    void run(PrintWriter out) throws Exception {
        List<String> list = prompts.collect();
        if (limit < 1) {
            throw new UsageException("--limit must be >= 1");
        }
        list = list.subList(0, Math.min(limit, list.size()));
        RunConfig.checkSampling(steps, width, height, guidance, null);
        List<CacheConfig> configs = configs();
        int[] gemmShape = parseGemm();
        PathArguments.requireDirectory("--output-dir", outputDir);
        Backend b = chipmunk.apply(model.backend());
        String modelPath = model.path == null ? defaultModel(b) : model.path;
        Device d = model.device();
        TensorType type = model.dtype(d);
        PipelineSpec s = PipelineSpec.full(modelPath, d, type);
        b.checkModel(s);
        RunConfig.Sampling sampling = RunConfig.Sampling.resolve(steps, width, height, guidance, null,
                BatchRun.defaults(b, modelPath));
        BatchRun.checkSteps(b, modelPath, sampling.steps());
        out.println(describe(sampling));
        BenchmarkPlan plan = new BenchmarkPlan(list, seed, sampling.steps(), sampling.width(), sampling.height(),
                sampling.guidance(), configs, warmup, repeat, siteErrors, gemmShape[0], gemmShape[1]);
        Files.createDirectories(outputDir);
        double gemmGflops = MachineGemm.gflops(d, type, gemmShape[0], gemmShape[1], 5);
        BenchmarkRunner.Outcome outcome;
        String backendMeasures;
        try (BackendMetricsRecorder pipeline = new BackendMetricsRecorder(b.open(s), sampling.steps())) {
            out.println("benchmarking " + pipeline.describe());
            out.flush();
            outcome = new BenchmarkRunner(pipeline, line -> {
                out.println("  " + line);
                out.flush();
            }).run(plan, modelPath, DeviceChoice.name(d), type.displayName(), gemmGflops);
            backendMeasures = pipeline.table();
        }
        // the yardstick again: a machine that got faster or slower during the run shows here
        outcome = new BenchmarkRunner.Outcome(outcome.report().withGemmAfter(
                MachineGemm.gflops(d, type, gemmShape[0], gemmShape[1], 5)), outcome.images());
        String table = table(outcome.report()) + backendMeasures;
        out.print(table);
        AtomicFiles.writeString(outputDir.resolve("bench.txt"), table);
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .registerModule(NON_FINITE_AS_NULL);
        AtomicFiles.writeString(outputDir.resolve("bench.json"), json.writeValueAsString(outcome.report()) + "\n");
        writeImages(outcome, list);
        writeGrid(outcome, list, modelPath, sampling);
        writePlot(outcome.report());
        out.println("wrote bench.txt, bench.json, grid.png" + (siteErrors ? ", error_vs_step.png" : "")
                + " and images/ to " + outputDir);
    }

    /** The resolved sampling, each value marked as given or the model's. */
    private String describe(RunConfig.Sampling sampling) {
        return String.format(Locale.ROOT, "sampling: %d steps (%s), %dx%d (%s), guidance %s (%s)", sampling.steps(),
                origin(steps), sampling.width(), sampling.height(), width == null && height == null ? "the model's"
                        : width != null && height != null ? "given" : "given and the model's",
                BigDecimal.valueOf(sampling.guidance()).stripTrailingZeros().toPlainString(), origin(guidance));
    }

    private static String origin(Object option) {
        return option == null ? "the model's" : "given";
    }

    /**
     * JSON has no infinity or NaN (Jackson would write the strings "Infinity" and "NaN"): such a value
     * is null, e.g. the PSNR of an image identical to the original one, and the forecast-step time of
     * a configuration that forecasts nothing (docs/cli.md).
     */
    static final SimpleModule NON_FINITE_AS_NULL = new SimpleModule("non-finite-as-null")
            .addSerializer(Double.class, new NonFiniteAsNull())
            .addSerializer(double.class, new NonFiniteAsNull());

    private static final class NonFiniteAsNull extends StdSerializer<Double> {
        NonFiniteAsNull() {
            super(Double.class);
        }

        @Override
        public void serialize(Double value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            if (Double.isFinite(value)) {
                gen.writeNumber(value);
            } else {
                gen.writeNull();
            }
        }
    }

    /** The cache configurations to compare with original. */
    List<CacheConfig> configs() {
        List<CacheMode> cached = new ArrayList<>();
        for (String m : modes.split(",")) {
            CacheMode mode;
            try {
                mode = CacheMode.parse(m);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--modes: " + e.getMessage());
            }
            if (mode != CacheMode.ORIGINAL && !cached.contains(mode)) { // original is always measured, as the reference
                cached.add(mode);
            }
        }
        boolean intervalsGiven = spec.commandLine().getParseResult().hasMatchedOption("--interval");
        return cache.grid(cached, intervalsGiven ? null : DEFAULT_INTERVALS, Map.of());
    }

    private int[] parseGemm() {
        String[] p = gemm.toLowerCase(Locale.ROOT).split("x");
        try {
            int[] s = {Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim())};
            if (p.length != 2 || s[0] < 1 || s[1] < 1) {
                throw new NumberFormatException();
            }
            return s;
        } catch (RuntimeException e) {
            throw new UsageException("--gemm: expected TOKENSxDIM like 4096x3072, got '" + gemm + "'");
        }
    }

    static String table(BenchmarkReport r) {
        StringWriter s = new StringWriter();
        PrintWriter p = new PrintWriter(s);
        p.printf(Locale.ROOT, "%s on %s, %s, %d steps, %dx%d, %d prompt(s)%n", r.model(), r.device(), r.dtype(), r.steps(),
                r.width(), r.height(), r.prompts().size());
        p.printf(Locale.ROOT, "machine GEMM %.1f GFLOP/s before, %.1f after (%+.1f%%); transformer (original) %.1f "
                + "GFLOP/s = %.0f%% of it%n", r.gemmGflops(), r.gemmGflopsAfter(), 100 * r.gemmDrift(),
                r.transformerGflops(), 100 * r.efficiency());
        if (Math.abs(r.gemmDrift()) > 0.05) {
            p.printf(Locale.ROOT, "WARNING: the machine's GEMM speed changed by %+.1f%% during the run; "
                    + "compare only configurations measured in the same rounds%n", 100 * r.gemmDrift());
        }
        p.printf(Locale.ROOT, "%-24s %4s %9s %9s %6s %11s %6s %6s %9s %9s %7s %6s %8s %9s %9s %6s%n", "config", "full",
                "denoise s", "total s", "wall×", "wall× range", "FLOPs×", "ratio", "cache MiB", "peak RSS", "PSNR",
                "SSIM", "lat.relL2", "full ms", "fcst ms", "fcst%");
        for (BenchmarkReport.ConfigResult c : r.results()) {
            p.printf(Locale.ROOT,
                    "%-24s %4d %9.3f %9.3f %6.2f %11s %6.2f %6.2f %9.1f %9.0f %7s %6.4f %8.4f %9.1f %9s %6s%n",
                    c.tag(), c.fullSteps(), c.denoiseSeconds(), c.totalSeconds(), c.wallSpeedup(),
                    String.format(Locale.ROOT, "%.2f-%.2f", c.wallSpeedupMin(), c.wallSpeedupMax()), c.flopsSpeedup(),
                    c.wallOverFlopsSpeedup(), c.cachePeakBytes() / 1048576.0, c.peakResidentBytes() / 1048576.0,
                    Double.isInfinite(c.psnr()) ? "inf" : String.format(Locale.ROOT, "%.2f", c.psnr()), c.ssim(),
                    c.latentRelativeL2(), c.fullStepMillis(),
                    Double.isNaN(c.forecastStepMillis()) ? "-" : String.format(Locale.ROOT, "%.1f", c.forecastStepMillis()),
                    Double.isNaN(c.forecastOverFullStep()) ? "-"
                            : String.format(Locale.ROOT, "%.1f", 100 * c.forecastOverFullStep()));
        }
        p.printf(Locale.ROOT, "(wall× and FLOPs× are relative to original; wall× is the median over %d interleaved "
                + "round(s), its range the smallest and largest round; ratio = wall× / FLOPs×; peak RSS in MiB; "
                + "fcst%% = forecast-step over full-step time)%n", r.results().get(0).rounds());
        faithfulness(p, r);
        for (BenchmarkReport.ConfigResult c : r.results()) {
            if (!c.forecastErrorByModule().isEmpty()) {
                StringBuilder sb = new StringBuilder("  forecast error " + c.tag() + ":");
                c.forecastErrorByModule().forEach((m, e) -> sb.append(String.format(Locale.ROOT, " %s %.4f", m, e)));
                p.println(sb);
            }
        }
        p.flush();
        return s.toString();
    }

    /**
     * Faithfulness to the prompts per configuration, as fractions of the named attributes the Shapes
     * checker reads back; or the one line saying why the run is not scored.
     */
    static void faithfulness(PrintWriter p, BenchmarkReport r) {
        if (r.faithfulnessUnscored() != null) {
            p.println("faithfulness: " + r.faithfulnessUnscored());
            return;
        }
        List<String> attributes = new ArrayList<>();
        for (BenchmarkReport.ConfigResult c : r.results()) {
            c.faithfulness().perAttribute().keySet().stream().filter(a -> !attributes.contains(a)).forEach(attributes::add);
        }
        p.println("faithfulness to the prompts (Shapes checker; fraction of the named attributes shown):");
        StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "%-24s", "config"));
        attributes.forEach(a -> header.append(String.format(Locale.ROOT, " %10s", a)));
        p.println(header.append(String.format(Locale.ROOT, " %8s %11s", "overall", "all correct")));
        for (BenchmarkReport.ConfigResult c : r.results()) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-24s", c.tag()));
            attributes.forEach(a -> row.append(String.format(Locale.ROOT, " %10.3f", c.faithfulness().perAttribute().get(a))));
            p.println(row.append(String.format(Locale.ROOT, " %8.3f %11.3f", c.faithfulness().overall(),
                    c.faithfulness().allCorrect())));
        }
    }

    /** Every image as {@code images/<config>/<prompt index>.png}: what PSNR, SSIM and faithfulness were computed on. */
    private void writeImages(BenchmarkRunner.Outcome outcome, List<String> list) throws IOException {
        for (Map.Entry<String, List<RgbImage>> e : outcome.images().entrySet()) {
            Path dir = Files.createDirectories(outputDir.resolve("images").resolve(e.getKey()));
            for (int i = 0; i < list.size(); i++) {
                RgbImage image = e.getValue().get(i);
                if (image != null) {
                    Map<String, String> text = new LinkedHashMap<>();
                    text.put("Description", list.get(i));
                    text.put("Comment", "hicache bench: " + e.getKey() + ", seed " + (seed + i));
                    PngWriter.write(dir.resolve(i + ".png"), image, text);
                }
            }
        }
    }

    /** Width of the grid's row labels ("seed N"): the prompts are under the images. */
    static final int GRID_LABEL_WIDTH = 96;

    private void writeGrid(BenchmarkRunner.Outcome outcome, List<String> list, String modelPath,
            RunConfig.Sampling sampling) throws IOException {
        List<String> columns = new ArrayList<>(outcome.images().keySet());
        ImageGrid grid = ImageGrid.withColumns(columns).labelWidth(GRID_LABEL_WIDTH);
        for (int i = 0; i < list.size(); i++) {
            List<RgbImage> row = new ArrayList<>();
            for (String c : columns) {
                row.add(outcome.images().get(c).get(i));
            }
            grid.row("seed " + (seed + i), row, Collections.nCopies(columns.size(), list.get(i)));
        }
        if (sampling.width() > 512) {
            grid.shrink(sampling.width() / 256);
        }
        Map<String, String> text = new LinkedHashMap<>();
        text.put("Description", "hicache bench: " + modelPath + ", " + sampling.steps() + " steps");
        PngWriter.write(outputDir.resolve("grid.png"), grid.render(), text);
    }

    private void writePlot(BenchmarkReport r) throws java.io.IOException {
        if (!siteErrors) {
            return;
        }
        LinePlot plot = LinePlot.create().title("Forecast error per step (mean over modules)").xLabel("step")
                .yLabel("relative L2 error ‖F̂ − F‖ / ‖F‖").logY(true).size(900, 540);
        for (BenchmarkReport.ConfigResult c : r.results()) {
            if (c.forecastErrorByStep().isEmpty()) {
                continue;
            }
            double[] x = c.forecastErrorByStep().keySet().stream().mapToDouble(Integer::doubleValue).toArray();
            double[] y = c.forecastErrorByStep().values().stream().mapToDouble(Double::doubleValue).toArray();
            plot.series(c.tag(), x, y);
        }
        PngWriter.write(outputDir.resolve("error_vs_step.png"), plot.render(), Map.of());
    }
}
