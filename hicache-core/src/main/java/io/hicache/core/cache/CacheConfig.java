package io.hicache.core.cache;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.Locale;
import java.util.Objects;

/**
 * Immutable, validated cache parameters; serialises to and from JSON.
 *
 * <p>Defaults are the paper's headline configuration (FLUX.1-dev, 50 steps): interval N = 7,
 * max order 2, first_enhance 3, σ = 0.5 — 9 full steps of 50, 5.56× fewer transformer passes.
 * {@link #upstreamDefaults(CacheMode)} gives the per-mode defaults of upstream's {@code cache_init}.
 *
 * <p>HiCache-Analytic derives a per-layer σ = min(σ_max, α / (√2·q + ε)) from q, an EMA
 * (weight β) of the mean token L2 norm (or its {@code analyticQuantile} quantile) of Δ¹F, with
 * optional log-domain smoothing γ; the fixed σ is then ignored.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"mode", "interval", "maxOrder", "firstEnhance", "hicacheScale"})
public final class CacheConfig {
    public static final int DEFAULT_INTERVAL = 7;
    public static final int DEFAULT_MAX_ORDER = 2;
    public static final int DEFAULT_FIRST_ENHANCE = 3;
    public static final double DEFAULT_SCALE = 0.5;
    public static final double DEFAULT_ANALYTIC_ALPHA = 1.28;
    public static final double DEFAULT_ANALYTIC_SIGMA_MAX = 1.0;
    public static final double DEFAULT_ANALYTIC_BETA = 0.01;
    public static final double DEFAULT_ANALYTIC_EPS = 1e-6;
    public static final double DEFAULT_ANALYTIC_SMOOTH = 0.0;
    public static final int MAX_ORDER_LIMIT = 8;
    public static final double MAX_SCALE = 4.0;

    private final CacheMode mode;
    private final int interval;
    private final int maxOrder;
    private final int firstEnhance;
    private final double hicacheScale;
    private final double analyticAlpha;
    private final double analyticSigmaMax;
    private final double analyticBeta;
    private final double analyticEps;
    private final Double analyticQuantile;
    private final double analyticSmooth;

    /** Every parameter; null takes the default (for JSON and the {@link Builder}). */
    @JsonCreator
    private CacheConfig(
            @JsonProperty("mode") CacheMode mode,
            @JsonProperty("interval") Integer interval,
            @JsonProperty("maxOrder") Integer maxOrder,
            @JsonProperty("firstEnhance") Integer firstEnhance,
            @JsonProperty("hicacheScale") Double hicacheScale,
            @JsonProperty("analyticAlpha") Double analyticAlpha,
            @JsonProperty("analyticSigmaMax") Double analyticSigmaMax,
            @JsonProperty("analyticBeta") Double analyticBeta,
            @JsonProperty("analyticEps") Double analyticEps,
            @JsonProperty("analyticQuantile") Double analyticQuantile,
            @JsonProperty("analyticSmooth") Double analyticSmooth) {
        this.mode = mode == null ? CacheMode.HICACHE : mode;
        this.interval = interval == null ? DEFAULT_INTERVAL : interval;
        this.maxOrder = maxOrder == null ? DEFAULT_MAX_ORDER : maxOrder;
        this.firstEnhance = firstEnhance == null ? DEFAULT_FIRST_ENHANCE : firstEnhance;
        this.hicacheScale = hicacheScale == null ? DEFAULT_SCALE : hicacheScale;
        this.analyticAlpha = analyticAlpha == null ? DEFAULT_ANALYTIC_ALPHA : analyticAlpha;
        this.analyticSigmaMax = analyticSigmaMax == null ? DEFAULT_ANALYTIC_SIGMA_MAX : analyticSigmaMax;
        this.analyticBeta = analyticBeta == null ? DEFAULT_ANALYTIC_BETA : analyticBeta;
        this.analyticEps = analyticEps == null ? DEFAULT_ANALYTIC_EPS : analyticEps;
        this.analyticQuantile = analyticQuantile;
        this.analyticSmooth = analyticSmooth == null ? DEFAULT_ANALYTIC_SMOOTH : analyticSmooth;
        validate();
    }

    /** The paper's headline configuration in HiCache mode. */
    public static CacheConfig defaults() {
        return of(CacheMode.HICACHE);
    }

    /** Headline parameters with the given mode. */
    public static CacheConfig of(CacheMode mode) {
        return new CacheConfig(mode, null, null, null, null, null, null, null, null, null, null);
    }

    /** The defaults of upstream's {@code cache_init} for {@code mode} (interval 6, etc.). */
    public static CacheConfig upstreamDefaults(CacheMode mode) {
        switch (mode) {
            case ORIGINAL:
                return of(mode).withInterval(1).withMaxOrder(0);
            case TAYLOR:
            case TAYLOR_SCALED:
                return of(mode).withInterval(6).withMaxOrder(2);
            case HICACHE:
            case HICACHE_ANALYTIC:
                return of(mode).withInterval(6).withMaxOrder(1);
            case FORA:
                return of(mode).withInterval(7).withMaxOrder(0);
            default:
                throw new AssertionError(mode);
        }
    }

    private void validate() {
        check(interval >= 1, "interval", "must be >= 1, got " + interval);
        check(maxOrder >= 0 && maxOrder <= MAX_ORDER_LIMIT, "maxOrder",
                "must be in 0.." + MAX_ORDER_LIMIT + ", got " + maxOrder);
        check(firstEnhance >= 1, "firstEnhance", "must be >= 1, got " + firstEnhance);
        check(Double.isFinite(hicacheScale) && hicacheScale > 0 && hicacheScale <= MAX_SCALE, "hicacheScale",
                "must be in (0, " + MAX_SCALE + "], got " + hicacheScale);
        check(Double.isFinite(analyticAlpha) && analyticAlpha > 0, "analyticAlpha", "must be > 0, got " + analyticAlpha);
        check(Double.isFinite(analyticSigmaMax) && analyticSigmaMax > 0 && analyticSigmaMax <= MAX_SCALE,
                "analyticSigmaMax", "must be in (0, " + MAX_SCALE + "], got " + analyticSigmaMax);
        check(Double.isFinite(analyticBeta) && analyticBeta <= 1, "analyticBeta",
                "must be <= 1 (<= 0 disables the EMA), got " + analyticBeta);
        check(Double.isFinite(analyticEps) && analyticEps > 0, "analyticEps", "must be > 0, got " + analyticEps);
        check(analyticQuantile == null || (analyticQuantile > 0 && analyticQuantile < 1), "analyticQuantile",
                "must be in (0, 1), got " + analyticQuantile);
        check(Double.isFinite(analyticSmooth) && analyticSmooth >= 0 && analyticSmooth < 1, "analyticSmooth",
                "must be in [0, 1), got " + analyticSmooth);
    }

    private static void check(boolean ok, String property, String problem) {
        if (!ok) {
            throw new InvalidValue(property, problem);
        }
    }

    /**
     * A parameter out of its range; {@link #property()} is its JSON property name, so that a front
     * end can name its own option for it.
     */
    public static final class InvalidValue extends IllegalArgumentException {
        private final String property;
        private final String problem;

        InvalidValue(String property, String problem) {
            super(property + " " + problem);
            this.property = property;
            this.problem = problem;
        }

        /** The JSON property, e.g. {@code firstEnhance}. */
        public String property() {
            return property;
        }

        /** What is wrong, e.g. {@code must be >= 1, got 0}. */
        public String problem() {
            return problem;
        }
    }

    @JsonProperty("mode")
    public CacheMode mode() {
        return mode;
    }

    @JsonProperty("interval")
    public int interval() {
        return interval;
    }

    @JsonProperty("maxOrder")
    public int maxOrder() {
        return maxOrder;
    }

    @JsonProperty("firstEnhance")
    public int firstEnhance() {
        return firstEnhance;
    }

    @JsonProperty("hicacheScale")
    public double hicacheScale() {
        return hicacheScale;
    }

    @JsonProperty("analyticAlpha")
    public double analyticAlpha() {
        return analyticAlpha;
    }

    @JsonProperty("analyticSigmaMax")
    public double analyticSigmaMax() {
        return analyticSigmaMax;
    }

    @JsonProperty("analyticBeta")
    public double analyticBeta() {
        return analyticBeta;
    }

    @JsonProperty("analyticEps")
    public double analyticEps() {
        return analyticEps;
    }

    /** Quantile of token norms used instead of their mean, or null for the mean. */
    @JsonProperty("analyticQuantile")
    public Double analyticQuantile() {
        return analyticQuantile;
    }

    @JsonProperty("analyticSmooth")
    public double analyticSmooth() {
        return analyticSmooth;
    }

    /** The step schedule these parameters produce. */
    public StepSchedule schedule() {
        return new StepSchedule(mode, interval, firstEnhance);
    }

    /** A builder starting from the headline parameters in {@code mode}. */
    public static Builder builder(CacheMode mode) {
        return new Builder().mode(mode);
    }

    /** A builder starting from these parameters. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.mode = mode;
        b.interval = interval;
        b.maxOrder = maxOrder;
        b.firstEnhance = firstEnhance;
        b.hicacheScale = hicacheScale;
        b.analyticAlpha = analyticAlpha;
        b.analyticSigmaMax = analyticSigmaMax;
        b.analyticBeta = analyticBeta;
        b.analyticEps = analyticEps;
        b.analyticQuantile = analyticQuantile;
        b.analyticSmooth = analyticSmooth;
        return b;
    }

    public CacheConfig withMode(CacheMode m) {
        return toBuilder().mode(m).build();
    }

    public CacheConfig withInterval(int n) {
        return toBuilder().interval(n).build();
    }

    public CacheConfig withMaxOrder(int o) {
        return toBuilder().maxOrder(o).build();
    }

    public CacheConfig withFirstEnhance(int fe) {
        return toBuilder().firstEnhance(fe).build();
    }

    public CacheConfig withHicacheScale(double s) {
        return toBuilder().hicacheScale(s).build();
    }

    /**
     * Collects parameters; a parameter left unset (or set to null) takes its default, and
     * {@link #build} validates them all at once.
     */
    public static final class Builder {
        private CacheMode mode;
        private Integer interval;
        private Integer maxOrder;
        private Integer firstEnhance;
        private Double hicacheScale;
        private Double analyticAlpha;
        private Double analyticSigmaMax;
        private Double analyticBeta;
        private Double analyticEps;
        private Double analyticQuantile;
        private Double analyticSmooth;

        private Builder() {}

        public Builder mode(CacheMode m) {
            mode = m;
            return this;
        }

        public Builder interval(Integer n) {
            interval = n;
            return this;
        }

        public Builder maxOrder(Integer k) {
            maxOrder = k;
            return this;
        }

        public Builder firstEnhance(Integer fe) {
            firstEnhance = fe;
            return this;
        }

        public Builder hicacheScale(Double sigma) {
            hicacheScale = sigma;
            return this;
        }

        /** HiCache-Analytic: σ = min(σ_max, α / (√2·q + ε)). */
        public Builder analyticAlpha(Double alpha) {
            analyticAlpha = alpha;
            return this;
        }

        public Builder analyticSigmaMax(Double sigmaMax) {
            analyticSigmaMax = sigmaMax;
            return this;
        }

        /** EMA weight of q; ≤ 0 makes q follow the latest statistic. */
        public Builder analyticBeta(Double beta) {
            analyticBeta = beta;
            return this;
        }

        public Builder analyticEps(Double eps) {
            analyticEps = eps;
            return this;
        }

        /** The quantile of token norms used instead of their mean; null for the mean. */
        public Builder analyticQuantile(Double q) {
            analyticQuantile = q;
            return this;
        }

        public Builder analyticSmooth(Double gamma) {
            analyticSmooth = gamma;
            return this;
        }

        /** @throws InvalidValue naming the first parameter out of its range */
        public CacheConfig build() {
            return new CacheConfig(mode, interval, maxOrder, firstEnhance, hicacheScale, analyticAlpha,
                    analyticSigmaMax, analyticBeta, analyticEps, analyticQuantile, analyticSmooth);
        }
    }

    /** Compact description for file names and tables, e.g. {@code HiCache_i7_o2_fe3_s0.5}. */
    public String tag() {
        if (mode == CacheMode.ORIGINAL) {
            return "original";
        }
        StringBuilder sb = new StringBuilder(mode.displayName()).append("_i").append(interval);
        if (mode != CacheMode.FORA) {
            sb.append("_o").append(maxOrder);
        }
        sb.append("_fe").append(firstEnhance);
        if (mode == CacheMode.HICACHE || mode == CacheMode.TAYLOR_SCALED) {
            sb.append("_s").append(trim(hicacheScale));
        }
        return sb.toString();
    }

    private static String trim(double v) {
        String s = String.format(Locale.ROOT, "%.4f", v);
        return s.replaceAll("0+$", "").replaceAll("\\.$", "");
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof CacheConfig)) {
            return false;
        }
        CacheConfig c = (CacheConfig) o;
        return mode == c.mode && interval == c.interval && maxOrder == c.maxOrder && firstEnhance == c.firstEnhance
                && hicacheScale == c.hicacheScale && analyticAlpha == c.analyticAlpha
                && analyticSigmaMax == c.analyticSigmaMax && analyticBeta == c.analyticBeta
                && analyticEps == c.analyticEps && Objects.equals(analyticQuantile, c.analyticQuantile)
                && analyticSmooth == c.analyticSmooth;
    }

    @Override
    public int hashCode() {
        return Objects.hash(mode, interval, maxOrder, firstEnhance, hicacheScale, analyticAlpha, analyticSigmaMax,
                analyticBeta, analyticEps, analyticQuantile, analyticSmooth);
    }

    @Override
    public String toString() {
        return tag();
    }
}
