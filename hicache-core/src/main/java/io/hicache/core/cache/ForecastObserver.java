package io.hicache.core.cache;

import ai.djl.ndarray.NDArray;

/**
 * Sees, on a forecast step, the forecast of a site next to the true output that was computed
 * anyway (benchmarks and calibration). A session with an observer computes every site on every
 * step, so it is slower than one without.
 */
@FunctionalInterface
public interface ForecastObserver {
    /** Both tensors are valid during the call only. */
    void forecast(SiteKey site, int step, NDArray forecast, NDArray truth);
}
