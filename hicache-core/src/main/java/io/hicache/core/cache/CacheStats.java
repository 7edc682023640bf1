package io.hicache.core.cache;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;

/**
 * What a cache session did: steps and site evaluations by kind, memory held, and — when forecast
 * errors were measured — the mean relative L2 error ‖F̂ − F‖/‖F‖ per module and per step.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record CacheStats(
        int steps,
        int fullSteps,
        int forecastSteps,
        long fullSiteEvaluations,
        long forecastSiteEvaluations,
        long bytesHeld,
        long peakBytesHeld,
        Map<String, Double> meanForecastErrorByModule,
        Map<Integer, Double> meanForecastErrorByStep) {
    /** These statistics with the mean forecast errors {@code errors} measured. */
    public CacheStats withForecastErrors(ForecastErrors errors) {
        return new CacheStats(steps, fullSteps, forecastSteps, fullSiteEvaluations, forecastSiteEvaluations, bytesHeld,
                peakBytesHeld, errors.meanByModule(), errors.meanByStep());
    }
}
