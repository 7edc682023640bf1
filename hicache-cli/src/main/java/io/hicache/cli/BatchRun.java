package io.hicache.cli;

import ai.djl.Device;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.InputShapes;
import io.hicache.core.pipeline.InvalidSettingException;
import io.hicache.core.pipeline.ModelDefaults;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.PipelineSpec.Component;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.TensorType;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One generation run, start to end: check everything (options, prompts, backend, devices, model
 * files, embeddings and noise files, output directory, existing images) before loading any model;
 * then run the worker pool over the images still to make, keeping manifest, progress and
 * {@code run.json} up to date; then decide the exit code.
 */
final class BatchRun {
    private static final Logger LOG = LoggerFactory.getLogger(BatchRun.class);
    static final int OK = 0;
    static final int SOME_FAILED = 1;
    static final int USAGE = 2;
    /** The image-editing backends' setting of the condition image's area, which --edit-area sets. */
    static final String EDIT_AREA_SETTING = "edit_area";

    private final RunConfig config;
    private final List<String> args;
    private final boolean analyticGiven;
    private final ChipmunkOptions chipmunk;

    BatchRun(RunConfig config, List<String> args, boolean analyticGiven, ChipmunkOptions chipmunk) {
        this.config = config;
        this.args = args;
        this.analyticGiven = analyticGiven;
        this.chipmunk = chipmunk;
    }

    int run(PrintWriter err) {
        boolean bar = Progress.wanted(config.verbosity());
        Logging.console(config.verbosity(), bar);
        try {
            config.checkNumbers();
            if (analyticGiven && config.cache().mode() != CacheMode.HICACHE_ANALYTIC) {
                LOG.warn("the --analytic-sigma-* options only apply to --mode HiCache-Analytic; ignoring them");
            }
            if (config.negativePrompt() != null) {
                Prompts.checkText(config.negativePrompt(), "--negative-prompt", true);
            }
            // with embeddings, their rows are the prompts; prompts given besides must match them
            List<Prompts.Row> rows = config.promptEmbeds() == null
                    ? Prompts.collectRows(config.promptFile(), config.prompts()) : null;
            List<String> prompts = rows != null ? rows.stream().map(Prompts.Row::prompt).toList()
                    : EmbeddingsFile.prompts(config.promptEmbeds(), Prompts.given(config.promptFile(), config.prompts()));
            RunPlan plan = RunPlan.of(prompts, config.startIndex(), config.limit(), config.numImagesPerPrompt(),
                    config.seed(), config.shard());
            Backend backend = backend();
            checkImageOptions(backend, rows);
            DeviceChoice choice = DeviceChoice.parse(config.gpus(), config.device());
            if (choice.mayUseCpu()) {
                configureCpuThreads(DeviceChoice.usefulWorkersPerDevice(config.workersPerDevice(), plan.jobs().size(), 1));
            }
            List<Device> devices = choice.resolve();
            TensorType dtype = dtype(devices);
            String model = config.model() != null ? config.model() : backend.defaultModel();
            RunConfig.Sampling sampling = config.sampling(defaults(backend, model));
            if (backend.conditionImages() > 0) {
                plan = withConditionImages(plan, rows, backend, model);
            }
            for (Job.Size size : sizes(plan, sampling)) {
                checkSize(backend, size);
            }
            checkSteps(backend, model, sampling.steps());
            int workers = devices.size()
                    * DeviceChoice.usefulWorkersPerDevice(config.workersPerDevice(), plan.jobs().size(), devices.size());
            // one encoder for all workers; with --encode-first also for one worker, run before any worker loads
            // an image-editing backend encodes each prompt with its image, in the worker that makes the image
            boolean sharedEncoder = config.promptEmbeds() == null && backend.conditionImages() == 0
                    && (config.encodeFirst() || config.sharedEncoder() && workers > 1);
            Set<Component> components = EnumSet.of(Component.TRANSFORMER);
            if (config.outputType().writesPng()) {
                components.add(Component.VAE);
            }
            if (config.promptEmbeds() == null && !sharedEncoder) {
                components.add(Component.TEXT_ENCODERS);
            }
            PipelineSpec workerSpec = new PipelineSpec(model, devices.get(0), dtype, components);
            PipelineSpec encoderSpec = sharedEncoder
                    ? new PipelineSpec(model, devices.get(0), dtype, EnumSet.of(Component.TEXT_ENCODERS)) : null;
            checkModel(backend, workerSpec);
            if (encoderSpec != null) {
                checkModel(backend, encoderSpec);
            }
            InputShapes shapes = config.promptEmbeds() != null || config.initNoise() != null
                    ? inputShapes(backend, model) : null;
            try (EmbeddingsFile embeddings = config.promptEmbeds() == null ? null
                            : EmbeddingsFile.open(config.promptEmbeds(), shapes, model,
                                    config.negativePrompt() != null && sampling.trueCfgScale() > 1);
                    BatchTensorFile noise = config.initNoise() == null ? null
                            : openInitNoise(plan, shapes, initNoiseSize(plan, sampling));
                    OutputDir out = OutputDir.open(config.outputDir(), config.shard());
                    AutoCloseable logFile = Logging.file(out.logFile())) {
                // true CFG runs when a negative prompt (text or embeddings) is given and the scale is above 1
                boolean trueCfg = (config.negativePrompt() != null || embeddings != null && embeddings.hasNegative())
                        && sampling.trueCfgScale() > 1;
                ImageSettings settings = new ImageSettings(backend.name(), model, dtype, config.negativePrompt(),
                        sampling.steps(), sampling.width(), sampling.height(), sampling.guidance(),
                        trueCfg ? sampling.trueCfgScale() : 1, config.cache(),
                        embeddings == null ? null : embeddings.fileName(), noise == null ? null : noise.fileName(),
                        backend.settings());
                Conditioning conditioning = embeddings != null ? embeddings
                        : encoderSpec != null ? null : Conditioning.BY_WORKER;
                return generate(err, new Setup(backend, devices, workerSpec, encoderSpec, plan, settings, out, noise,
                        conditioning, bar));
            }
        } catch (UsageException e) {
            return usageError(err, e, config.verbosity());
        } catch (Exception e) {
            LOG.debug("run failed", e);
            return usageError(err, new UsageException(Errors.oneLine(e), e), config.verbosity());
        }
    }

    /** What {@link #run} prepared. {@code conditioning} is null when a shared encoder is to be started. */
    private record Setup(Backend backend, List<Device> devices, PipelineSpec workerSpec, PipelineSpec encoderSpec,
            RunPlan plan, ImageSettings settings, OutputDir out, BatchTensorFile noise, Conditioning conditioning,
            boolean bar) {}

    private int generate(PrintWriter err, Setup s) throws IOException, InterruptedException {
        OutputDir out = s.out();
        out.removeStaleTemporaries(s.plan().jobs());
        Map<Integer, ManifestEntry> previous = config.overwrite() ? new TreeMap<>()
                : Manifest.readLatest(out.manifestFile());
        OutputDir.Resume resume = config.overwrite() ? new OutputDir.Resume(List.of(), s.plan().jobs(), List.of())
                : out.scan(s.plan().jobs(), s.settings(), config.outputType(), previous);
        resume.recovered().forEach(e -> previous.put(e.index(), e));
        int workersPerDevice = workersPerDevice(s.devices(), resume.todo().size());
        RunRecord record = new RunRecord(out.runFile(), config, args, HiCacheRuntime.info(), s.devices(),
                workersPerDevice, s.workerSpec(), s.backend().name(), s.backend().settings(), s.plan(),
                resume.done().size());
        record.write("running", null);
        Thread interrupted = new Thread(() -> interrupted(err, record, s.bar()), "hicache-interrupted");
        Runtime.getRuntime().addShutdownHook(interrupted);
        try {
            LOG.info("{} image(s) in this run: {} already done, {} to make, on {} with {} worker(s) per device; "
                    + "output in {}", s.plan().jobs().size(), resume.done().size(), resume.todo().size(),
                    s.devices().stream().map(DeviceChoice::name).toList(), workersPerDevice, out.path());
            WorkerPool.Outcome outcome = null;
            SharedEncoder encoder = null;
            try (Manifest manifest = Manifest.open(out.manifestFile(), previous.values());
                    Progress progress = new Progress(s.plan().jobs().size(), resume.done().size(),
                            s.bar() && !resume.todo().isEmpty())) {
                if (!resume.todo().isEmpty()) {
                    Conditioning conditioning = s.conditioning();
                    if (conditioning == null) {
                        encoder = new SharedEncoder(s.backend(), s.encoderSpec(), resume.todo(),
                                s.settings().trueCfgScale() > 1 ? s.settings().negativePrompt() : null,
                                config.encodeFirst() ? resume.todo().size() + 1 : s.devices().size() * workersPerDevice + 1);
                        conditioning = encoder;
                        encoder.start();
                        if (config.encodeFirst()) {
                            encoder.awaitFinished(); // the text encoders are freed before the workers load
                        }
                    }
                    JobRunner runner = new JobRunner(s.settings(), config.outputType(), out.path(), conditioning,
                            s.noise(), config.measureForecastError());
                    WorkerPool pool = new WorkerPool(s.backend(), s.devices(), workersPerDevice,
                            device -> new PipelineSpec(s.workerSpec().model(), device, s.workerSpec().dtype(),
                                    s.workerSpec().components()),
                            runner, entry -> {
                                record.add(entry);
                                append(manifest, entry);
                                progress.finished(entry);
                            });
                    record.generationStarted();
                    try {
                        outcome = pool.run(resume.todo());
                    } finally {
                        if (encoder != null) {
                            encoder.close();
                        }
                    }
                    String reason = outcome.writeFailure() != null
                            ? "not made: the run stopped after a failed write (" + outcome.writeFailure() + ")"
                            : "not made: no worker was left to make it"
                                    + (outcome.firstLoadError() == null ? "" : " (" + outcome.firstLoadError() + ")");
                    for (Job job : outcome.notRun()) {
                        ManifestEntry entry = runner.notRun(job, reason);
                        record.add(entry);
                        append(manifest, entry);
                        progress.finished(entry);
                    }
                    record.workers(outcome.workers(), encoder == null ? null : encoder.report());
                }
            }
            Manifest.open(out.manifestFile(), Manifest.readLatest(out.manifestFile()).values()).close();
            int exit = exitCode(err, s, resume, outcome, encoder, record);
            boolean stopped = outcome != null && outcome.writeFailure() != null;
            record.write(exit == USAGE || stopped ? "failed" : "finished", exit);
            return exit;
        } catch (IOException e) {
            // the run's own files (manifest, run record) cannot be written: a full disk, a lost mount
            LOG.debug("writing the run's files failed", e);
            writeQuietly(record, "failed", SOME_FAILED);
            return fail(err, Errors.oneLine(e) + "; fix that and rerun to resume", SOME_FAILED);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(interrupted);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook is running or has run
            }
        }
    }

    private int exitCode(PrintWriter err, Setup s, OutputDir.Resume resume, WorkerPool.Outcome outcome,
            SharedEncoder encoder, RunRecord record) {
        if (resume.todo().isEmpty()) {
            LOG.info("nothing to do: all {} image(s) of this run are already in {}", s.plan().jobs().size(),
                    s.out().path());
            return OK;
        }
        if (!outcome.anyPipelineLoaded()) {
            return fail(err, "no worker could load the model on " + s.devices().stream().map(DeviceChoice::name).toList()
                    + ": " + outcome.firstLoadError(), USAGE);
        }
        if (encoder != null && encoder.loadFailed() && record.ok() == 0) {
            return fail(err, "the text encoders could not be loaded: " + encoder.loadError(), USAGE);
        }
        if (outcome.writeFailure() != null) {
            return fail(err, outcome.writeFailure() + "; the run stopped there, " + record.ok() + " image(s) made; "
                    + "fix that and rerun to resume", SOME_FAILED);
        }
        int bad = record.failedOrNotRun();
        String summary = String.format(Locale.ROOT, "%d of %d image(s) made in this run (%.2f img/min), %d failed; "
                + "%d already done; outputs in %s", record.ok(), resume.todo().size(), record.imagesPerMinute(), bad,
                resume.done().size(), s.out().path());
        if (bad == 0) {
            LOG.info("{}", summary);
            return OK;
        }
        LOG.warn("{}", summary);
        return fail(err, bad + " image(s) failed (see " + s.out().manifestFile().getFileName()
                + "); run the same command again to retry them", SOME_FAILED);
    }

    private static int fail(PrintWriter err, String message, int code) {
        err.println("hicache: " + message);
        err.flush();
        return code;
    }

    private static void append(Manifest manifest, ManifestEntry entry) {
        try {
            manifest.append(entry);
        } catch (IOException e) {
            LOG.error("{}", Errors.oneLine(e));
        }
    }

    /**
     * The shutdown hook of a run stopped by a signal (SIGTERM, SIGINT): says so on stderr and in the
     * log, and records it; the images already made are kept and a rerun resumes.
     */
    private static void interrupted(PrintWriter err, RunRecord record, boolean bar) {
        String message = "interrupted; rerun to resume";
        err.println((bar ? "\r\u001b[K" : "") + "hicache: " + message);
        err.flush();
        LOG.warn(Logging.FILE_ONLY, message);
        writeQuietly(record, "interrupted", null);
    }

    private static void writeQuietly(RunRecord record, String status, Integer exit) {
        try {
            record.write(status, exit);
        } catch (IOException | RuntimeException e) {
            LOG.debug("writing run.json failed", e);
        }
    }

    /** One line on stderr (with --verbose, the stack trace of the cause too, if any); exit code 2. */
    static int usageError(PrintWriter err, UsageException e, Logging.Verbosity verbosity) {
        err.println("hicache: " + e.getMessage());
        if (verbosity == Logging.Verbosity.VERBOSE && e.getCause() != null) {
            e.getCause().printStackTrace(err);
        }
        err.flush();
        return USAGE;
    }

    private Backend backend() {
        Backend named;
        try {
            named = Backend.named(config.backend());
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Backend configured = chipmunk.apply(named);
        if (config.editArea() == null) {
            return configured;
        }
        if (configured.conditionImages() == 0) {
            throw new UsageException("--edit-area applies to image editing (--backend qwen-image-edit); the "
                    + configured.name() + " backend takes no condition image");
        }
        try {
            return configured.configure(Map.of(EDIT_AREA_SETTING, Long.toString(config.editArea())), key -> { });
        } catch (InvalidSettingException e) {
            throw new UsageException("--edit-area: " + e.getMessage(), e);
        }
    }

    /**
     * Refuses condition images for a backend that takes none, and, for one that takes them, a run
     * without any and the options that encode prompts apart from their images.
     */
    private void checkImageOptions(Backend backend, List<Prompts.Row> rows) {
        boolean columnImages = rows != null && rows.stream().anyMatch(r -> r.image() != null);
        if (backend.conditionImages() == 0) {
            if (config.image() != null) {
                throw new UsageException("--image: the " + backend.name() + " backend takes no condition image "
                        + "(image editing is --backend qwen-image-edit)");
            }
            if (columnImages) {
                throw new UsageException("prompt file " + config.promptFile() + " has images in an Image column, but "
                        + "the " + backend.name() + " backend takes no condition image (image editing is --backend "
                        + "qwen-image-edit)");
            }
            return;
        }
        if (config.promptEmbeds() != null) {
            throw new UsageException("--prompt-embeds: the " + backend.name() + " backend encodes each prompt together "
                    + "with its condition image, so it cannot take precomputed embeddings");
        }
        if (config.encodeFirst()) {
            throw new UsageException("--encode-first: the " + backend.name() + " backend encodes each prompt together "
                    + "with its condition image, in the worker that makes the image");
        }
        if (config.image() != null && columnImages) {
            throw new UsageException("give the condition images either with --image or in the prompt file's Image "
                    + "column, not both");
        }
        if (config.image() == null && !columnImages) {
            throw new UsageException("the " + backend.name() + " backend edits an image: give --image FILE, or a .tsv "
                    + "prompt file with an Image column");
        }
    }

    /**
     * Reads every prompt's condition image (each file once), so that a missing or undecodable image
     * stops the run before anything loads, and gives each job its image and the size made from it:
     * the backend's size for that image, or --width / --height where given.
     */
    private RunPlan withConditionImages(RunPlan plan, List<Prompts.Row> rows, Backend backend, String model) {
        Map<Path, ConditionImage> read = new HashMap<>();
        Map<Path, Job.Size> sizes = new HashMap<>();
        List<ConditionImage> images = new ArrayList<>();
        List<Job.Size> imageSizes = new ArrayList<>();
        for (Prompts.Row row : rows) {
            String path = config.image() != null ? config.image().toString() : row.image();
            Path file = config.image() != null ? config.image() : row.imageFile();
            String where = config.image() != null ? "--image" : row.where();
            if (file == null) {
                boolean inline = row.where().equals("--prompt");
                throw new UsageException((inline ? "--prompt '" + Errors.abbreviate(row.prompt()) + "'" : row.where())
                        + ": this prompt has no condition image ("
                        + (inline ? "only the prompt file's rows name images" : "its Image cell is empty") + "); the "
                        + backend.name() + " backend edits an image");
            }
            Path key = file.toAbsolutePath().normalize();
            if (!read.containsKey(key)) {
                ConditionImage.Loaded loaded = ConditionImage.read(path, file, where);
                ModelDefaults defaults;
                try {
                    defaults = backend.defaults(model, List.of(loaded.pixels()));
                } catch (IOException | IllegalArgumentException e) {
                    throw new UsageException(where + ": " + Errors.oneLine(e), e);
                }
                RunConfig.Sampling s = config.sampling(defaults);
                read.put(key, loaded.image());
                sizes.put(key, new Job.Size(s.width(), s.height()));
            }
            ConditionImage known = read.get(key);
            images.add(new ConditionImage(path, file, known.width(), known.height(), known.sha256()));
            imageSizes.add(sizes.get(key));
        }
        return plan.withImages(images, imageSizes);
    }

    /** The distinct image sizes of the plan's jobs (the run's size for jobs without their own). */
    private static Set<Job.Size> sizes(RunPlan plan, RunConfig.Sampling sampling) {
        Set<Job.Size> out = new LinkedHashSet<>();
        Job.Size run = new Job.Size(sampling.width(), sampling.height());
        plan.jobs().forEach(j -> out.add(j.size() != null ? j.size() : run));
        if (out.isEmpty()) {
            out.add(run);
        }
        return out;
    }

    /** The one size the images of a run with --init-noise must share. */
    private static Job.Size initNoiseSize(RunPlan plan, RunConfig.Sampling sampling) {
        Set<Job.Size> sizes = sizes(plan, sampling);
        if (sizes.size() > 1) {
            throw new UsageException("--init-noise: this run's images have different sizes (" + sizes.stream()
                    .map(Job.Size::toString).toList() + ", from their condition images); one noise file holds one size");
        }
        return sizes.iterator().next();
    }

    /** A step count the model's scheduler cannot sample in is refused before anything loads. */
    static void checkSteps(Backend backend, String model, int steps) throws IOException {
        try {
            backend.checkSteps(model, steps);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--steps " + steps + ": " + e.getMessage(), e);
        }
    }

    /** Sizes the backend cannot make (Chipmunk's patchify tiles) are refused before anything loads. */
    private static void checkSize(Backend backend, Job.Size size) {
        try {
            backend.checkSize(size.width(), size.height());
        } catch (IllegalArgumentException e) {
            throw new UsageException("--width " + size.width() + " --height " + size.height() + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * {@code --workers}, capped at the images to make (a worker without an image would load a
     * replica for nothing); warns when CPU workers outnumber the cores they share.
     */
    private int workersPerDevice(List<Device> devices, int images) {
        int requested = config.workersPerDevice();
        int useful = DeviceChoice.usefulWorkersPerDevice(requested, images, devices.size());
        if (useful < requested && images > 0) {
            LOG.info("--workers {}: {} image(s) to make, so {} worker(s) per device", requested, images, useful);
        }
        int cores = Runtime.getRuntime().availableProcessors();
        if (useful > cores && devices.stream().anyMatch(d -> !d.isGpu())) {
            LOG.warn("--workers {}: {} CPU workers share {} cores, one thread each; fewer workers (at most {}) are "
                    + "as fast with less memory", requested, useful, cores, cores);
        }
        return useful;
    }

    /** Each CPU worker gets an equal share of the cores; must happen before the engine starts. */
    private void configureCpuThreads(int workers) {
        int threads = DeviceChoice.cpuThreadsPerWorker(Runtime.getRuntime().availableProcessors(), workers);
        try {
            HiCacheRuntime.configureThreads(threads, 0);
            LOG.debug("libtorch intra-op threads per worker: {}", threads);
        } catch (IllegalStateException e) {
            // Only when this JVM ran the engine before (tests calling the CLI in-process).
            LOG.debug("engine already started; keeping its thread count");
        }
    }

    private TensorType dtype(List<Device> devices) {
        if (config.dtype() == null) {
            return DeviceChoice.defaultDtype(devices);
        }
        try {
            return TensorType.parseCompute(config.dtype());
        } catch (IllegalArgumentException e) {
            throw new UsageException("--dtype: " + e.getMessage());
        }
    }

    private static void checkModel(Backend backend, PipelineSpec spec) {
        try {
            backend.checkModel(spec);
        } catch (IOException | IllegalArgumentException e) {
            throw new UsageException(Errors.oneLine(e), e);
        }
    }

    private static InputShapes inputShapes(Backend backend, String model) {
        try {
            return backend.inputShapes(model);
        } catch (IOException | IllegalArgumentException e) {
            throw new UsageException(Errors.oneLine(e), e);
        }
    }

    /** The model's sampling defaults; a model whose config cannot be read is a usage error. */
    static ModelDefaults defaults(Backend backend, String model) {
        try {
            return backend.defaults(model);
        } catch (IOException | IllegalArgumentException e) {
            throw new UsageException(Errors.oneLine(e), e);
        }
    }

    private BatchTensorFile openInitNoise(RunPlan plan, InputShapes model, Job.Size sampling) {
        BatchTensorFile noise = BatchTensorFile.open(config.initNoise(), "--init-noise", OutputFiles.LATENTS, 4,
                plan.maxImageIndex() + 1);
        long[] shape = noise.shape();
        int scale = model.latentScale();
        String problem = null;
        if (shape[2] * scale != sampling.height() || shape[3] * scale != sampling.width()) {
            problem = "latents of " + shape[3] * scale + "x" + shape[2] * scale + " images (" + Arrays.toString(shape)
                    + "), but this run makes " + sampling.width() + "x" + sampling.height();
        } else if (shape[1] != model.latentChannels()) {
            problem = "latents with " + shape[1] + " channels (" + Arrays.toString(shape) + "), but the model's have "
                    + model.latentChannels();
        }
        if (problem != null) {
            noise.close();
            throw new UsageException("--init-noise: " + config.initNoise() + " holds " + problem);
        }
        return noise;
    }
}
