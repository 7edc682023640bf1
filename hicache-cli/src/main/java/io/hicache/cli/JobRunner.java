package io.hicache.cli;

import io.hicache.core.cache.CacheStats;
import io.hicache.core.diffusion.NonFiniteLatentsException;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.GenerationResult;
import io.hicache.core.pipeline.GenerationStats;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.pipeline.ImagePipeline;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes one image on a worker's pipeline and writes its files. Whatever goes wrong with the image
 * (an exception, running out of memory, NaN or infinite latents) becomes a failed manifest entry
 * and the worker goes on; only an {@link Error} other than {@link OutOfMemoryError} escapes, as
 * the sign of a pipeline that can no longer be trusted.
 */
final class JobRunner {
    private static final Logger LOG = LoggerFactory.getLogger(JobRunner.class);
    /** The error kind of an image made but not written (full disk, file size limit, ...). */
    static final String WRITE_FAILED = "write-failed";

    private final ImageSettings settings;
    private final OutputType outputType;
    private final Path dir;
    private final Conditioning conditioning;
    private final BatchTensorFile initNoise;
    private final boolean measureForecastError;

    JobRunner(ImageSettings settings, OutputType outputType, Path dir, Conditioning conditioning,
            BatchTensorFile initNoise, boolean measureForecastError) {
        this.settings = settings;
        this.outputType = outputType;
        this.dir = dir;
        this.conditioning = conditioning;
        this.initNoise = initNoise;
        this.measureForecastError = measureForecastError;
    }

    ManifestEntry run(ImagePipeline pipeline, Job job, String device, String worker) {
        long start = System.nanoTime();
        String parameters = settings.parameters(job);
        try {
            HostTensor noise = initNoise == null ? null : initNoise.item(job.index());
            GenerationRequest request = new GenerationRequest(job.prompt(), settings.negativePrompt(), job.seed(),
                    settings.steps(), settings.width(job), settings.height(job), settings.guidance(), settings.cache(),
                    conditioning.forJob(job), noise, outputType.writesPng(), measureForecastError)
                    .withTrueCfg(settings.trueCfgScale(), conditioning.negativeForJob(job));
            if (job.image() != null) {
                request = request.withImages(List.of(job.image().load()));
            }
            GenerationResult result = pipeline.generate(request);
            String problem = problemWith(result);
            if (problem != null) {
                return failed(job, problem, "exception", device, worker, start, parameters);
            }
            Map<String, Long> files;
            try {
                files = write(job, result, parameters);
            } catch (IOException e) {
                LOG.debug("{}: writing failed", job.stem(), e);
                return failed(job, Errors.oneLine(e), WRITE_FAILED, device, worker, start, parameters);
            }
            return entry(job, ManifestEntry.OK, null, null, files, device, worker, start, result.stats(), parameters);
        } catch (NonFiniteLatentsException e) {
            return failed(job, e.getMessage(), "non-finite", device, worker, start, parameters);
        } catch (OutOfMemoryError e) {
            LOG.debug("{} ran out of memory", job.stem(), e);
            return failed(job, "out of memory: " + Errors.oneLine(e), "out-of-memory", device, worker, start, parameters);
        } catch (Exception e) {
            LOG.debug("{} failed", job.stem(), e);
            // libtorch reports exhausted memory as an ordinary exception
            String kind = Errors.isOutOfMemory(e) ? "out-of-memory" : "exception";
            return failed(job, Errors.oneLine(e), kind, device, worker, start, parameters);
        } finally {
            conditioning.finished(job);
        }
    }

    /** Why a result cannot be written, or null when it is fine. */
    private String problemWith(GenerationResult result) {
        if (result == null) {
            return "the pipeline returned no result";
        }
        if (outputType.writesPng() && result.image() == null) {
            return "the pipeline returned no image";
        }
        if (outputType.writesLatents() && result.latents() == null) {
            return "the pipeline returned no latents";
        }
        return null;
    }

    private Map<String, Long> write(Job job, GenerationResult result, String parameters) throws IOException {
        Map<String, Long> files = new LinkedHashMap<>();
        if (outputType.writesPng()) {
            Path png = dir.resolve(OutputType.pngName(job));
            try {
                OutputFiles.writePng(png, result.image(), settings.shown(job), parameters);
            } catch (IOException e) {
                throw Errors.cannotWrite(png, e);
            }
            files.put(png.getFileName().toString(), Files.size(png));
        }
        if (outputType.writesLatents()) {
            Path latents = dir.resolve(OutputType.latentsName(job));
            try {
                OutputFiles.writeLatents(latents, result.latents(), parameters);
            } catch (IOException e) {
                throw Errors.cannotWrite(latents, e);
            }
            files.put(latents.getFileName().toString(), Files.size(latents));
        }
        return files;
    }

    private ManifestEntry failed(Job job, String error, String kind, String device, String worker, long startNanos,
            String parameters) {
        return entry(job, ManifestEntry.FAILED, error, kind, null, device, worker, startNanos, null, parameters);
    }

    /** A failed entry for the job a worker's pipeline died on. */
    ManifestEntry died(Job job, Error error, String device, String worker, long startNanos) {
        return failed(job, "the worker's pipeline died: " + Errors.oneLine(error), "worker-died", device, worker,
                startNanos, settings.parameters(job));
    }

    /** A failed entry for a job no worker could take. */
    ManifestEntry notRun(Job job, String reason) {
        return entry(job, ManifestEntry.FAILED, reason, "not-run", null, null, null, System.nanoTime(), null,
                settings.parameters(job));
    }

    private static ManifestEntry entry(Job job, String status, String error, String kind, Map<String, Long> files,
            String device, String worker, long startNanos, GenerationStats stats, String parameters) {
        CacheStats cache = stats == null ? null : stats.cache();
        return new ManifestEntry(job.index(), job.promptIndex(), job.prompt(), job.seed(), status, error, kind,
                files == null ? null : files.keySet().iterator().next(), files, device, worker,
                (System.nanoTime() - startNanos) / 1e9,
                stats == null ? null : stats.encodeSeconds(),
                stats == null ? null : stats.denoiseSeconds(),
                stats == null ? null : stats.decodeSeconds(),
                cache == null ? null : cache.fullSteps(),
                cache == null ? null : cache.forecastSteps(),
                cache == null ? null : cache.peakBytesHeld(),
                meanForecastError(cache),
                stats == null || stats.backendMetrics().isEmpty() ? null : stats.backendMetrics(),
                ManifestEntry.Image.of(job.image()),
                ImageSettings.fingerprint(parameters),
                Instant.now().toString());
    }

    private static Double meanForecastError(CacheStats cache) {
        if (cache == null || cache.meanForecastErrorByStep() == null || cache.meanForecastErrorByStep().isEmpty()) {
            return null;
        }
        return cache.meanForecastErrorByStep().values().stream().mapToDouble(Double::doubleValue).average().orElse(0);
    }
}
