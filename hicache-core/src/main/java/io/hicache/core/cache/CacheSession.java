package io.hicache.core.cache;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The cache of one generation (one image or one batch): step counter, full steps so far, one
 * {@link FeatureSite} per (branch, layer, module), the mode's {@link Forecaster}, and memory.
 *
 * <p>A model uses it like this, for every cached module of every block:
 * <pre>{@code
 * session.beginStep(step);                         // once per denoising step, shared by all branches
 * NDArray out = session.needsCompute(key) ? computeAttention(...) : null;
 * out = session.resolve(key, out, scratch);        // full step: records and returns out; else the forecast
 * residual = kernels.gatedAdd(residual, gate, out);
 * }</pre>
 * The decision is asked per site, so a model computes exactly the modules whose sites need it.
 * With the step schedule, the answer is the same for every site of a step: true on full steps,
 * false on forecast steps, where no attention or MLP runs. With a {@link ForecastObserver} every
 * site is computed on every step and {@link #resolve} hands forecast and truth to the observer but
 * still returns the forecast. In {@code original} mode (also {@link #none}) nothing is stored and
 * {@code resolve} returns its input untouched. Closing frees every cached tensor.
 */
public final class CacheSession implements AutoCloseable {
    private final CacheConfig config;
    private final StepSchedule schedule;
    private final int numSteps;
    private final ForecastObserver observer;
    private final Forecaster forecaster;
    private final NDManager manager;
    private final Map<SiteKey, FeatureSite> sites = new LinkedHashMap<>();
    private final List<Integer> activatedSteps = new ArrayList<>();

    private int step = -1;
    private boolean full;
    private int fullSteps;
    private long fullSiteEvaluations;
    private long forecastSiteEvaluations;
    private long bytesHeld;
    private long peakBytesHeld;
    private boolean closed;

    private CacheSession(CacheConfig config, int numSteps, NDManager parent, ForecastObserver observer) {
        if (numSteps < 1) {
            throw new IllegalArgumentException("a generation needs at least one step, got " + numSteps);
        }
        this.config = config;
        this.schedule = config.schedule();
        this.numSteps = numSteps;
        this.observer = config.mode().caches() ? observer : null;
        this.forecaster = config.mode().newForecaster(config);
        this.manager = parent.newSubManager();
    }

    /** A session for {@code numSteps} steps whose cached tensors live under {@code parent}. */
    public static CacheSession open(CacheConfig config, int numSteps, NDManager parent) {
        return new CacheSession(config, numSteps, parent, null);
    }

    /**
     * As {@link #open}, additionally computing every module on forecast steps and showing each
     * forecast with its truth to {@code observer} (for benchmarks and calibration; costs full
     * compute). Null means no observer.
     */
    public static CacheSession open(CacheConfig config, int numSteps, NDManager parent, ForecastObserver observer) {
        return new CacheSession(config, numSteps, parent, observer);
    }

    /** A session that caches nothing: every site is computed on every step. */
    public static CacheSession none(int numSteps, NDManager parent) {
        return new CacheSession(CacheConfig.of(CacheMode.ORIGINAL), numSteps, parent, null);
    }

    /**
     * A no-cache session already at step 0, for one forward outside a generation (tests,
     * benchmarks, feature capture). It holds nothing, so it needs no closing.
     */
    public static CacheSession singleForward(NDManager parent) {
        CacheSession s = none(1, parent);
        s.beginStep(0);
        return s;
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

    /** Whether the schedule makes the current step a full one. */
    public boolean isFullStep() {
        requireStep();
        return full;
    }

    /** Whether the model must compute the module of {@code site} this step. */
    public boolean needsCompute(SiteKey site) {
        return isFullStep() || observer != null;
    }

    /** Whether the model must compute the module of any of {@code sites} this step. */
    public boolean needsAnyCompute(SiteKey... sites) {
        for (SiteKey site : sites) {
            if (needsCompute(site)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The module output to use this step. Full step: records {@code computed} (copying what it
     * keeps) and returns it. Forecast step: returns the forecast, attached to {@code scope}; with an
     * observer, {@code computed} is the true output and is shown to it next to the forecast.
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
        double x = step - activatedSteps.get(activatedSteps.size() - 1);
        NDArray forecast = site.forecast(forecaster.coefficients(key, site.orders(), x), scope);
        if (observer != null && computed != null) {
            observer.forecast(key, step, forecast, computed);
        }
        return forecast;
    }

    private void record(SiteKey key, FeatureSite site, NDArray computed) {
        int distance = activatedSteps.size() >= 2
                ? activatedSteps.get(activatedSteps.size() - 1) - activatedSteps.get(activatedSteps.size() - 2)
                : 0;
        int produced = activatedSteps.size() < 2 ? 0
                : DerivativeUpdate.produced(site.orders(), forecaster.orderLimit(), step, config.firstEnhance());
        long before = site.bytes();
        site.record(computed, produced, distance);
        bytesHeld += site.bytes() - before;
        peakBytesHeld = Math.max(peakBytesHeld, bytesHeld);
        if (produced >= 1 && forecaster.observesFirstDerivative()) {
            try (NDArray d1 = site.firstDerivative()) {
                forecaster.observe(key, d1);
            }
        }
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

    /** Steps, site evaluations and memory so far (forecast errors are the observer's). */
    public CacheStats stats() {
        int done = step + 1;
        return new CacheStats(done, fullSteps, done - fullSteps, fullSiteEvaluations, forecastSiteEvaluations,
                bytesHeld, peakBytesHeld, Map.of(), Map.of());
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
            bytesHeld = 0;
            manager.close();
        }
    }
}
