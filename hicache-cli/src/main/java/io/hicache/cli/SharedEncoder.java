package io.hicache.cli;

import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.TextEmbeddings;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Encodes each prompt once for all workers. One pipeline holding only the text encoders runs on
 * its own thread and works through the prompts in queue order, a few ahead of the workers (whose
 * pipelines then need no text encoders: for FLUX that is ~9.5 GB of T5 per replica saved).
 * Embeddings are dropped once every image of their prompt is finished, and the encoder stays at
 * most {@code lookahead} prompts ahead, so memory stays bounded for prompt lists of any length.
 */
final class SharedEncoder implements Conditioning {
    private static final Logger LOG = LoggerFactory.getLogger(SharedEncoder.class);

    private final Backend backend;
    private final PipelineSpec spec;
    private final Map<Integer, String> prompts = new LinkedHashMap<>();
    private final String negativePrompt;
    private final CompletableFuture<TextEmbeddings> negative = new CompletableFuture<>();
    private final Map<Integer, CompletableFuture<TextEmbeddings>> embeddings = new ConcurrentHashMap<>();
    private final Map<Integer, AtomicInteger> unfinishedJobs = new ConcurrentHashMap<>();
    private final Semaphore room;
    private final Thread thread;
    private final AtomicInteger encoded = new AtomicInteger();
    private volatile String loadError;
    private volatile String description;
    private volatile double loadSeconds;
    private volatile double encodeSeconds;

    /**
     * Prepares encoding of the prompts of {@code jobs}, in their order, after the negative prompt
     * (null for none: true CFG is off); {@link #start} begins.
     */
    SharedEncoder(Backend backend, PipelineSpec spec, List<Job> jobs, String negativePrompt, int lookahead) {
        this.backend = backend;
        this.spec = spec;
        this.negativePrompt = negativePrompt;
        for (Job job : jobs) {
            prompts.putIfAbsent(job.promptIndex(), job.prompt());
            embeddings.computeIfAbsent(job.promptIndex(), p -> new CompletableFuture<>());
            unfinishedJobs.computeIfAbsent(job.promptIndex(), p -> new AtomicInteger()).incrementAndGet();
        }
        this.room = new Semaphore(lookahead);
        this.thread = new Thread(this::encodeAll, "hicache-encoder");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Waits until every prompt is encoded (or failed) and the encoder pipeline is closed. */
    void awaitFinished() throws InterruptedException {
        thread.join();
    }

    private void encodeAll() {
        ImagePipeline pipeline = open();
        if (pipeline == null) {
            failRemaining("the text encoders could not be loaded: " + loadError);
            return;
        }
        try {
            if (negativePrompt != null) {
                try {
                    negative.complete(pipeline.encode(negativePrompt));
                } catch (Exception e) {
                    LOG.debug("encoding the negative prompt failed", e);
                    negative.completeExceptionally(e);
                }
            }
            for (Map.Entry<Integer, String> prompt : prompts.entrySet()) {
                room.acquire();
                long start = System.nanoTime();
                CompletableFuture<TextEmbeddings> future = embeddings.get(prompt.getKey());
                try {
                    future.complete(pipeline.encode(prompt.getValue()));
                    encoded.incrementAndGet();
                } catch (Exception e) {
                    LOG.debug("encoding prompt {} failed", prompt.getKey(), e);
                    future.completeExceptionally(e);
                }
                encodeSeconds += (System.nanoTime() - start) / 1e9;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Error e) {
            LOG.error("the text encoder died: {}", Errors.oneLine(e));
            LOG.debug("text encoder error", e);
            failRemaining("the text encoder died: " + Errors.oneLine(e));
        } finally {
            pipeline.close();
            failRemaining("the text encoder stopped");
        }
    }

    /** Opens the encoder pipeline, trying a second time if the first attempt fails for a reason that may pass. */
    private ImagePipeline open() {
        for (int attempt = 1; attempt <= 2; attempt++) {
            long start = System.nanoTime();
            try {
                ImagePipeline p = backend.open(spec);
                loadSeconds = (System.nanoTime() - start) / 1e9;
                description = p.describe();
                LOG.info("text encoders loaded on {} in {} s: {}", DeviceChoice.name(spec.device()),
                        String.format(Locale.ROOT, "%.1f", loadSeconds), description);
                return p;
            } catch (Exception | Error e) {
                loadError = Errors.oneLine(e);
                LOG.debug("text encoder load failure", e);
                if (Errors.isPermanentLoadFailure(e)) {
                    LOG.error("loading the text encoders on {} failed: {}", DeviceChoice.name(spec.device()), loadError);
                    return null;
                }
                LOG.error("loading the text encoders on {} failed (attempt {} of 2): {}",
                        DeviceChoice.name(spec.device()), attempt, loadError);
            }
        }
        return null;
    }

    private void failRemaining(String reason) {
        negative.completeExceptionally(new IllegalStateException(reason));
        for (CompletableFuture<TextEmbeddings> f : new ArrayList<>(embeddings.values())) {
            f.completeExceptionally(new IllegalStateException(reason));
        }
    }

    @Override
    public TextEmbeddings forJob(Job job) throws Exception {
        try {
            return embeddings.get(job.promptIndex()).get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw cause instanceof Exception ? (Exception) cause : new IllegalStateException(Errors.oneLine(cause), cause);
        }
    }

    @Override
    public TextEmbeddings negativeForJob(Job job) throws Exception {
        if (negativePrompt == null) {
            return null;
        }
        try {
            return negative.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw cause instanceof Exception ? (Exception) cause : new IllegalStateException(Errors.oneLine(cause), cause);
        }
    }

    @Override
    public void finished(Job job) {
        if (unfinishedJobs.get(job.promptIndex()).decrementAndGet() == 0) {
            embeddings.remove(job.promptIndex());
            room.release();
        }
    }

    /** True when the encoder pipeline could not be loaded at all. */
    boolean loadFailed() {
        return loadError != null && description == null;
    }

    String loadError() {
        return loadError;
    }

    /** For run.json. */
    Map<String, Object> report() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("device", DeviceChoice.name(spec.device()));
        r.put("pipeline", description);
        r.put("load_seconds", loadSeconds);
        r.put("prompts_encoded", encoded.get());
        r.put("encode_seconds", encodeSeconds);
        if (loadFailed()) {
            r.put("load_error", loadError);
        }
        return r;
    }

    @Override
    public void close() {
        thread.interrupt();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
