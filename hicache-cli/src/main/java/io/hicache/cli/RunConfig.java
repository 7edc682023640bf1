package io.hicache.cli;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.hicache.core.cache.CacheConfig;
import java.nio.file.Path;
import java.util.List;

/**
 * The options of a generation run, parsed but not yet checked against files, devices or the
 * backend (that is {@link BatchRun}'s first step). Recorded in {@code run.json} as given.
 *
 * @param model model path, or null for the backend's default
 * @param dtype compute dtype as given, or null for the device's default
 * @param limit at most this many prompts, or null for all
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
record RunConfig(
        String backend,
        String model,
        String dtype,
        String gpus,
        String device,
        int workersPerDevice,
        boolean sharedEncoder,
        Path promptFile,
        List<String> prompts,
        String negativePrompt,
        int startIndex,
        Integer limit,
        int numImagesPerPrompt,
        Shard shard,
        int steps,
        int width,
        int height,
        double guidance,
        long seed,
        CacheConfig cache,
        boolean measureForecastError,
        Path promptEmbeds,
        Path initNoise,
        Path outputDir,
        OutputType outputType,
        boolean overwrite,
        Logging.Verbosity verbosity) {

    /** Checks the plain numbers; everything else is checked when the run is prepared. */
    void checkNumbers() {
        check(steps >= 1, "--steps must be >= 1, got " + steps);
        check(width >= 16 && width % 16 == 0, "--width must be a positive multiple of 16, got " + width);
        check(height >= 16 && height % 16 == 0, "--height must be a positive multiple of 16, got " + height);
        check(Double.isFinite(guidance) && guidance >= 0, "--guidance must be a finite number >= 0, got " + guidance);
        check(workersPerDevice >= 1, "--workers must be >= 1, got " + workersPerDevice);
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new UsageException(message);
        }
    }
}
