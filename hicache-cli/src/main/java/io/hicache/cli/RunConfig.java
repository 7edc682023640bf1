package io.hicache.cli;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.pipeline.ModelDefaults;
import java.nio.file.Path;
import java.util.List;

/**
 * The options of a generation run, parsed but not yet checked against files, devices or the
 * backend (that is {@link BatchRun}'s first step). Recorded in {@code run.json} as given.
 *
 * @param model model path, or null for the backend's default
 * @param dtype compute dtype as given, or null for the device's default
 * @param limit at most this many prompts, or null for all
 * @param steps denoising steps, or null for the model's (likewise width, height, guidance, trueCfgScale)
 * @param image the condition image of every prompt ({@code --image}), or null
 * @param editArea the condition image's area in pixels ({@code --edit-area}), or null for the backend's
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
        boolean encodeFirst,
        Path promptFile,
        List<String> prompts,
        String negativePrompt,
        int startIndex,
        Integer limit,
        int numImagesPerPrompt,
        Shard shard,
        Integer steps,
        Integer width,
        Integer height,
        Double guidance,
        Double trueCfgScale,
        long seed,
        CacheConfig cache,
        boolean measureForecastError,
        Path promptEmbeds,
        Path initNoise,
        Path image,
        Long editArea,
        Path outputDir,
        OutputType outputType,
        boolean overwrite,
        Logging.Verbosity verbosity) {

    /** Largest width or height: an 8192² image is already 262,144 image tokens, 64 times a 1024² image's. */
    static final int MAX_SIDE = 8192;

    /** Checks the plain numbers given; everything else is checked when the run is prepared. */
    void checkNumbers() {
        checkSampling(steps, width, height, guidance, trueCfgScale);
        check(workersPerDevice >= 1, "--workers must be >= 1, got " + workersPerDevice);
    }

    /** Checks the sampling options given (null: the model's), for every command that samples. */
    static void checkSampling(Integer steps, Integer width, Integer height, Double guidance, Double trueCfgScale) {
        check(steps == null || steps >= 1, "--steps must be >= 1, got " + steps);
        if (width != null) {
            checkSide("--width", width);
        }
        if (height != null) {
            checkSide("--height", height);
        }
        check(guidance == null || Double.isFinite(guidance) && guidance >= 0,
                "--guidance must be a finite number >= 0, got " + guidance);
        check(trueCfgScale == null || Double.isFinite(trueCfgScale) && trueCfgScale >= 0,
                "--true-cfg-scale must be a finite number >= 0, got " + trueCfgScale);
    }

    /** The sampling of this run: each option given, else the model's default. */
    Sampling sampling(ModelDefaults model) {
        return Sampling.resolve(steps, width, height, guidance, trueCfgScale, model);
    }

    /** Resolved sampling settings. */
    record Sampling(int steps, int width, int height, double guidance, double trueCfgScale) {
        /** Each option given (not null), else the model's default. */
        static Sampling resolve(Integer steps, Integer width, Integer height, Double guidance, Double trueCfgScale,
                ModelDefaults model) {
            return new Sampling(steps != null ? steps : model.steps(), width != null ? width : model.width(),
                    height != null ? height : model.height(), guidance != null ? guidance : model.guidance(),
                    trueCfgScale != null ? trueCfgScale : model.trueCfgScale());
        }
    }

    private static void checkSide(String option, int px) {
        check(px >= 16 && px % 16 == 0, option + " must be a positive multiple of 16, got " + px);
        check(px <= MAX_SIDE, option + " " + px + " is too large: at most " + MAX_SIDE + " pixels (" + MAX_SIDE + "x"
                + MAX_SIDE + " is already 64 times the image tokens of 1024x1024)");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new UsageException(message);
        }
    }
}
