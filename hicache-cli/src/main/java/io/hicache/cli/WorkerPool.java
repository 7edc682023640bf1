package io.hicache.cli;

import ai.djl.Device;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.PipelineSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Workers on devices, each with its own pipeline, pulling jobs from one shared queue: a fast
 * device simply takes more jobs (no static shards). A worker whose pipeline fails to load or dies
 * (throws an {@link Error}) is replaced once; after that its device's share is drained by the
 * other workers. A load that fails because the model's files are wrong is not tried again by any
 * worker. An image that could not be written stops the pool: the images after it would be made
 * only to fail the same way (a full disk). Jobs no worker took are returned as not run.
 */
final class WorkerPool {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerPool.class);
    /** A worker slot gets its first pipeline and, after a failure, one replacement. */
    private static final int PIPELINES_PER_SLOT = 2;

    private final Backend backend;
    private final Function<Device, PipelineSpec> specs;
    private final JobRunner runner;
    private final Consumer<ManifestEntry> onFinished;
    private final List<Worker> workers = new ArrayList<>();
    /** Set once a load failed for a reason no retry can change; then no worker loads again. */
    private volatile boolean permanentLoadFailure;
    private volatile String writeFailure;

    WorkerPool(Backend backend, List<Device> devices, int workersPerDevice, Function<Device, PipelineSpec> specs,
            JobRunner runner, Consumer<ManifestEntry> onFinished) {
        this.backend = backend;
        this.specs = specs;
        this.runner = runner;
        this.onFinished = onFinished;
        for (Device device : devices) {
            for (int k = 0; k < workersPerDevice; k++) {
                workers.add(new Worker(device, DeviceChoice.name(device) + "#" + k));
            }
        }
    }

    /** What the pool did. */
    /** What the pool did; {@code writeFailure} is the error that stopped it, or null. */
    record Outcome(List<Job> notRun, boolean anyPipelineLoaded, String firstLoadError, List<Map<String, Object>> workers,
            String writeFailure) {}

    /** Runs {@code jobs} to the end (or until no worker is left) and returns what happened. */
    Outcome run(List<Job> jobs) throws InterruptedException {
        Queue<Job> queue = new ConcurrentLinkedQueue<>(jobs);
        List<Thread> threads = new ArrayList<>();
        for (Worker w : workers) {
            Thread t = new Thread(() -> w.work(queue), "hicache-" + w.name);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        List<Job> notRun = new ArrayList<>(queue);
        boolean loaded = workers.stream().anyMatch(w -> w.loads > 0);
        String firstError = workers.stream().map(w -> w.firstLoadError).filter(e -> e != null).findFirst().orElse(null);
        List<Map<String, Object>> reports = new ArrayList<>();
        workers.forEach(w -> reports.add(w.report()));
        return new Outcome(notRun, loaded, firstError, reports, writeFailure);
    }

    /** One worker slot; its fields are written by its own thread and read after it has ended. */
    private final class Worker {
        final Device device;
        final String name;
        int loads;
        int loadFailures;
        int deaths;
        int ok;
        int failed;
        double loadSeconds;
        double busySeconds;
        String description;
        long parameterBytes;
        String firstLoadError;

        Worker(Device device, String name) {
            this.device = device;
            this.name = name;
        }

        void work(Queue<Job> queue) {
            for (int life = 1; life <= PIPELINES_PER_SLOT && !queue.isEmpty() && !permanentLoadFailure
                    && writeFailure == null; life++) {
                ImagePipeline pipeline = load(life);
                if (pipeline == null) {
                    continue;
                }
                boolean died = false;
                try {
                    died = drain(pipeline, queue);
                } finally {
                    closeQuietly(pipeline);
                }
                if (!died) {
                    return;
                }
                if (life < PIPELINES_PER_SLOT) {
                    LOG.warn("{}: starting a replacement worker", name);
                }
            }
            if (!queue.isEmpty() && writeFailure == null) {
                LOG.error("{}: giving up on this worker; the others take over its share", name);
            }
        }

        private ImagePipeline load(int life) {
            long start = System.nanoTime();
            try {
                ImagePipeline p = backend.open(specs.apply(device));
                double seconds = (System.nanoTime() - start) / 1e9;
                loads++;
                loadSeconds += seconds;
                description = p.describe();
                parameterBytes = p.parameterBytes();
                LOG.info("{}: loaded in {} s: {} ({})", name, String.format(Locale.ROOT, "%.1f", seconds), description,
                        Errors.bytes(parameterBytes));
                return p;
            } catch (Exception | Error e) {
                loadFailures++;
                String message = Errors.oneLine(e);
                if (firstLoadError == null) {
                    firstLoadError = message;
                }
                if (Errors.isPermanentLoadFailure(e)) {
                    permanentLoadFailure = true;
                    LOG.error("{}: loading the model failed: {}", name, message);
                } else {
                    LOG.error("{}: loading the model failed (attempt {} of {}): {}", name, life, PIPELINES_PER_SLOT,
                            message);
                }
                LOG.debug("{}: load failure", name, e);
                return null;
            }
        }

        /** Runs jobs until the queue is empty (false) or the pipeline dies (true). */
        private boolean drain(ImagePipeline pipeline, Queue<Job> queue) {
            Job job;
            while (writeFailure == null && (job = queue.poll()) != null) {
                long start = System.nanoTime();
                ManifestEntry entry;
                boolean died = false;
                try {
                    entry = runner.run(pipeline, job, DeviceChoice.name(device), name);
                } catch (Error e) {
                    deaths++;
                    died = true;
                    LOG.error("{}: the pipeline died on {}: {}", name, job.stem(), Errors.oneLine(e));
                    LOG.debug("{}: pipeline error", name, e);
                    entry = runner.died(job, e, DeviceChoice.name(device), name, start);
                }
                busySeconds += (System.nanoTime() - start) / 1e9;
                if (entry.ok()) {
                    ok++;
                } else {
                    failed++;
                }
                if (JobRunner.WRITE_FAILED.equals(entry.errorKind()) && writeFailure == null) {
                    writeFailure = entry.error();
                    LOG.error("{}: stopping the run: no more images are started after a failed write", name);
                }
                onFinished.accept(entry);
                MemoryRelease.afterImage();
                if (died) {
                    return true;
                }
            }
            return false;
        }

        Map<String, Object> report() {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("name", name);
            r.put("device", DeviceChoice.name(device));
            r.put("pipeline", description);
            r.put("parameter_bytes", parameterBytes);
            r.put("loads", loads);
            r.put("load_failures", loadFailures);
            r.put("deaths", deaths);
            r.put("load_seconds", loadSeconds);
            r.put("busy_seconds", busySeconds);
            r.put("ok", ok);
            r.put("failed", failed);
            if (firstLoadError != null) {
                r.put("load_error", firstLoadError);
            }
            return r;
        }
    }

    private static void closeQuietly(ImagePipeline pipeline) {
        try {
            pipeline.close();
        } catch (RuntimeException | Error e) {
            LOG.warn("closing a pipeline failed: {}", Errors.oneLine(e));
        }
    }
}
