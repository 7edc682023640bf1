package io.hicache.core.cache;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.metrics.RelativeError;
import io.hicache.core.runtime.Kernels;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The cache of one generation (one image or one batch): step counter, full steps so far, one
 * {@link FeatureSite} per (branch, layer, module), statistics and memory.
 *
 * <p>A model uses it like this, for every cached module of every block:
 * <pre>{@code
 * session.beginStep(step);                     // once per denoising step, shared by all branches
 * NDArray out = session.needsCompute() ? computeAttention(...) : null;
 * out = session.resolve(key, out, scratch);    // full step: records and returns out; else the forecast
 * residual = residual.add(gate.mul(out));
 * }</pre>
 * On forecast steps {@link #needsCompute()} is false, so no attention or MLP runs; when forecast
 * errors are measured it is true on every step and {@link #resolve} compares forecast and truth but
 * still returns the forecast. In {@code original} mode nothing is stored and {@code resolve} returns
 * its input untouched. Closing frees every cached tensor.
 */
public final class CacheSession implements AutoCloseable {
    private final CacheConfig config;
    private final StepSchedule schedule;
    private final int numSteps;
    private final boolean measureErrors;
    private final NDManager manager;
    private final Map<SiteKey, FeatureSite> sites = new LinkedHashMap<>();
    private final List<Integer> activatedSteps = new ArrayList<>();
    private final AnalyticSigma analytic;
    private final FlopCounter flops = new FlopCounter();
    private final Map<String, double[]> errorByModule = new TreeMap<>();
    private final Map<Integer, double[]> errorByStep = new TreeMap<>();

    private int step = -1;
    private boolean full;
    private int fullSteps;
    private long fullSiteEvaluations;
    private long forecastSiteEvaluations;
    private long bytesHeld;
    private long peakBytesHeld;
    private boolean closed;

    private CacheSession(CacheConfig config, int numSteps, NDManager parent, boolean measureErrors) {
        if (numSteps < 1) {
            throw new IllegalArgumentException("a generation needs at least one step, got " + numSteps);
        }
        this.config = config;
        this.schedule = config.schedule();
        this.numSteps = numSteps;
        this.measureErrors = measureErrors && config.mode().caches();
        this.manager = parent.newSubManager();
        this.analytic = config.mode() == CacheMode.HICACHE_ANALYTIC ? new AnalyticSigma(config) : null;
    }

    /** A session for {@code numSteps} steps whose cached tensors live under {@code parent}. */
    public static CacheSession open(CacheConfig config, int numSteps, NDManager parent) {
        return new CacheSession(config, numSteps, parent, false);
    }

    /**
     * As {@link #open}, additionally computing every module on forecast steps to record the
     * forecast error (for benchmarks and calibration; costs full compute).
     */
    public static CacheSession openMeasuringErrors(CacheConfig config, int numSteps, NDManager parent) {
        return new CacheSession(config, numSteps, parent, true);
    }

    public CacheConfig config() {
        return config;
    }

    public StepSchedule schedule() {
        return schedule;
    }

    public int numSteps() {
        return numSteps;
    }

    /** FLOPs the model executed under this session. */
    public FlopCounter flops() {
        return flops;
    }

    /** Starts step {@code step}; steps must come in order 0, 1, …, numSteps − 1. */
    public void beginStep(int next) {
        ensureOpen();
        if (next != step + 1 || next >= numSteps) {
            throw new IllegalStateException("expected step " + (step + 1) + " of " + numSteps + ", got " + next);
        }
        step = next;
        full = schedule.isFull(step);
        if (full) {
            fullSteps++;
            activatedSteps.add(step);
        }
    }

    /** The current step (−1 before the first {@link #beginStep}). */
    public int step() {
        return step;
    }

    public boolean isFullStep() {
        requireStep();
        return full;
    }

    /** Whether the model must compute cached modules this step. */
    public boolean needsCompute() {
        return isFullStep() || measureErrors;
    }

    /**
     * The module output to use this step. Full step: records {@code computed} (copying what it
     * keeps) and returns it. Forecast step: returns the forecast, attached to {@code scope}; when
     * errors are measured, {@code computed} is the true output and is compared with the forecast.
     */
    public NDArray resolve(SiteKey key, NDArray computed, NDManager scope) {
        requireStep();
        if (!config.mode().caches()) {
            fullSiteEvaluations++;
            return computed;
        }
        FeatureSite site = sites.computeIfAbsent(key, k -> new FeatureSite(manager));
        if (full) {
            if (computed == null) {
                throw new IllegalArgumentException("full step " + step + " needs the computed output of " + key);
            }
            fullSiteEvaluations++;
            record(key, site, computed);
            return computed;
        }
        forecastSiteEvaluations++;
        NDArray forecast = site.forecast(coefficients(key, site), scope);
        if (measureErrors && computed != null) {
            double e = RelativeError.l2(forecast, computed);
            accumulate(errorByModule, key.module(), e);
            accumulate(errorByStep, step, e);
        }
        return forecast;
    }

    private void record(SiteKey key, FeatureSite site, NDArray computed) {
        int distance = activatedSteps.size() >= 2
                ? activatedSteps.get(activatedSteps.size() - 1) - activatedSteps.get(activatedSteps.size() - 2)
                : 0;
        int produced = activatedSteps.size() < 2 ? 0
                : DerivativeUpdate.produced(site.orders(), storedOrderLimit(), step, config.firstEnhance());
        long before = site.bytes();
        site.record(computed, produced, distance);
        bytesHeld += site.bytes() - before;
        peakBytesHeld = Math.max(peakBytesHeld, bytesHeld);
        if (analytic != null && produced >= 1) {
            try (NDArray d1 = site.firstDerivative()) {
                Kernels k = Kernels.of(d1);
                Double quantile = config.analyticQuantile();
                analytic.observe(key, quantile == null ? k.tokenNormMean(d1) : k.tokenNormQuantile(d1, quantile));
            }
        }
    }

    /** FORA keeps D^0 only; the Taylor family up to maxOrder derivatives. */
    private int storedOrderLimit() {
        return config.mode() == CacheMode.FORA ? 0 : config.maxOrder();
    }

    private double[] coefficients(SiteKey key, FeatureSite site) {
        double x = step - activatedSteps.get(activatedSteps.size() - 1);
        return basis(key).coefficients(site.orders(), x);
    }

    private Basis basis(SiteKey key) {
        switch (config.mode()) {
            case FORA:
                return Basis.reuse();
            case TAYLOR:
                return Basis.taylor(config.maxOrder());
            case TAYLOR_SCALED:
                return Basis.scaledTaylor(config.hicacheScale(), config.maxOrder());
            case HICACHE:
                return Basis.hermite(config.hicacheScale(), config.maxOrder());
            case HICACHE_ANALYTIC:
                return Basis.hermite(analytic.sigma(key), config.maxOrder());
            default:
                throw new AssertionError(config.mode());
        }
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

    /** Bytes of cached tensors held right now. */
    public long bytesHeld() {
        return bytesHeld;
    }

    /** The steps that ran in full so far. */
    public List<Integer> fullStepsSoFar() {
        return Collections.unmodifiableList(activatedSteps);
    }

    /** Number of cached sites. */
    public int siteCount() {
        return sites.size();
    }

    /** Orders currently stored per site (for diagnostics and tests). */
    public Map<SiteKey, Integer> storedOrders() {
        Map<SiteKey, Integer> m = new HashMap<>();
        sites.forEach((k, s) -> m.put(k, s.orders()));
        return m;
    }

    public CacheStats stats() {
        int done = step + 1;
        return new CacheStats(done, fullSteps, done - fullSteps, fullSiteEvaluations, forecastSiteEvaluations,
                bytesHeld, peakBytesHeld, means(errorByModule), means(errorByStep));
    }

    private void requireStep() {
        ensureOpen();
        if (step < 0) {
            throw new IllegalStateException("beginStep(0) must come first");
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("cache session is closed");
        }
    }

    /** Frees every cached tensor; the statistics stay readable. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            sites.values().forEach(FeatureSite::clear);
            sites.clear();
            if (analytic != null) {
                analytic.clear();
            }
            bytesHeld = 0;
            manager.close();
        }
    }
}
