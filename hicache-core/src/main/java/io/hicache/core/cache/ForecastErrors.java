package io.hicache.core.cache;

import ai.djl.ndarray.NDArray;
import io.hicache.core.metrics.RelativeError;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/** Mean relative L2 error ‖F̂ − F‖/‖F‖ of the forecasts a session used, per module and per step. */
public final class ForecastErrors implements ForecastObserver {
    private final Map<String, double[]> byModule = new TreeMap<>();
    private final Map<Integer, double[]> byStep = new TreeMap<>();

    @Override
    public void forecast(SiteKey site, int step, NDArray forecast, NDArray truth) {
        double e = RelativeError.l2(forecast, truth);
        accumulate(byModule, site.module(), e);
        accumulate(byStep, step, e);
    }

    public Map<String, Double> meanByModule() {
        return means(byModule);
    }

    public Map<Integer, Double> meanByStep() {
        return means(byStep);
    }

    private static <K> void accumulate(Map<K, double[]> m, K key, double value) {
        double[] sumCount = m.computeIfAbsent(key, k -> new double[2]);
        sumCount[0] += value;
        sumCount[1]++;
    }

    private static <K> Map<K, Double> means(Map<K, double[]> m) {
        Map<K, Double> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k, v[0] / v[1]));
        return Collections.unmodifiableMap(out);
    }
}
