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
}
