package io.hicache.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * One line of {@code manifest.jsonl}: what happened to one image.
 *
 * @param status {@code ok} or {@code failed}
 * @param error why it failed (null when ok)
 * @param errorKind {@code exception}, {@code out-of-memory}, {@code non-finite}, {@code worker-died},
 *     {@code not-run} (no worker was left to make it)
 * @param file the main output file ({@code img_<i>.png}, or the latents file for
 *     {@code --output-type latent})
 * @param files every file written, with its size in bytes (what a rerun checks)
 * @param worker the worker thread, e.g. {@code gpu1#0}
 * @param seconds wall time of generating and writing this image (null in a recovered entry)
 * @param cacheBytes peak bytes the feature cache held
 * @param forecastError mean relative L2 forecast error, with {@code --measure-forecast-error}
 * @param backendMetrics the backend's own measures of the image (Chipmunk's FLOP fractions and cache
 *     bytes), null when it has none
 * @param image the condition image the image was made from (image-editing backends), else null
 * @param parameters fingerprint of the image's parameters ({@link ImageSettings#fingerprint})
 * @param finishedAt ISO-8601 instant
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record ManifestEntry(
        int index,
        @JsonProperty("prompt_index") int promptIndex,
        String prompt,
        long seed,
        String status,
        @JsonInclude(JsonInclude.Include.ALWAYS) String error,
        @JsonProperty("error_kind") String errorKind,
        String file,
        Map<String, Long> files,
        String device,
        String worker,
        Double seconds,
        @JsonProperty("encode_seconds") Double encodeSeconds,
        @JsonProperty("denoise_seconds") Double denoiseSeconds,
        @JsonProperty("decode_seconds") Double decodeSeconds,
        @JsonProperty("full_steps") Integer fullSteps,
        @JsonProperty("forecast_steps") Integer forecastSteps,
        @JsonProperty("cache_bytes") Long cacheBytes,
        @JsonProperty("forecast_error") Double forecastError,
        @JsonProperty("backend_metrics") Map<String, Double> backendMetrics,
        Image image,
        String parameters,
        @JsonProperty("finished_at") String finishedAt) {

    /**
     * A condition image as the manifest records it.
     *
     * @param path as given on the command line or in the prompt file
     * @param width its width in pixels
     * @param height its height in pixels
     */
    record Image(String path, int width, int height) {
        /** The record of {@code image}, or null for none. */
        static Image of(ConditionImage image) {
            return image == null ? null : new Image(image.path(), image.width(), image.height());
        }
    }

    static final String OK = "ok";
    static final String FAILED = "failed";

    /**
     * An ok entry rebuilt from finished files that no manifest line described; what only the
     * generating run knew (device, timings, cache statistics) is left out.
     */
    static ManifestEntry recovered(Job job, Map<String, Long> files, String parameters) {
        return new ManifestEntry(job.index(), job.promptIndex(), job.prompt(), job.seed(), OK, null, null,
                files.keySet().iterator().next(), files, null, null, null, null, null, null, null, null, null, null,
                null, Image.of(job.image()), parameters, null);
    }

    boolean ok() {
        return OK.equals(status);
    }
}
