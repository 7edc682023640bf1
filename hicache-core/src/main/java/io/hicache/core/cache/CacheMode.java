package io.hicache.core.cache;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * How skipped steps are predicted.
 *
 * <table>
 * <caption>modes and their forecast (x = steps since the last full step, D^k = k-th divided difference)</caption>
 * <tr><th>mode</th><th>forecast</th><th>upstream cache_init defaults (N, order, fe, σ)</th></tr>
 * <tr><td>original</td><td>none: every step is full</td><td>1, 0, 3, –</td></tr>
 * <tr><td>FORA</td><td>D^0 (reuse the last full-step feature)</td><td>– (baseline of the paper's tables)</td></tr>
 * <tr><td>Taylor</td><td>Σ x^k/k! · D^k (TaylorSeer)</td><td>6, 2, 3, –</td></tr>
 * <tr><td>Taylor-Scaled</td><td>D^0 + Σ σ^{2k} x^k/k! · D^k ("Hi-Taylor" ablation)</td><td>6, 2, 3, 0.5</td></tr>
 * <tr><td>HiCache</td><td>D^0 + Σ σ^k H_k(σx)/k! · D^k (dual-scaled Hermite)</td><td>6, 1, 3, 0.5</td></tr>
 * <tr><td>HiCache-Analytic</td><td>as HiCache with a per-layer σ from the statistics of Δ¹F</td><td>6, 1, 3, analytic</td></tr>
 * </table>
 *
 * <p>Upstream's launchers override those defaults; this project's defaults are the paper's headline
 * configuration for every mode (see {@link CacheConfig}).
 */
public enum CacheMode {
    ORIGINAL("original", c -> Forecaster.of(Basis.reuse(), 0),
            "none", "off", "full", "no-cache", "nocache", "baseline"),
    FORA("FORA", c -> Forecaster.of(Basis.reuse(), 0), "reuse", "fora-reuse"),
    TAYLOR("Taylor", c -> Forecaster.of(Basis.taylor(c.maxOrder()), c.maxOrder()),
            "taylorseer", "taylor-seer", "taylor_cache", "taylorcache"),
    TAYLOR_SCALED("Taylor-Scaled", c -> Forecaster.of(Basis.scaledTaylor(c.hicacheScale(), c.maxOrder()), c.maxOrder()),
            "taylor_scaled", "taylorscaled", "hi-taylor", "hitaylor", "scaled-taylor"),
    HICACHE("HiCache", c -> Forecaster.of(Basis.hermite(c.hicacheScale(), c.maxOrder()), c.maxOrder()),
            "hermite", "hi-cache"),
    HICACHE_ANALYTIC("HiCache-Analytic", AnalyticSigma::forecaster,
            "hicache_analytic", "hicacheanalytic", "hicache-adaptive", "hicache_adaptive", "analytic", "adaptive");

    private final String displayName;
    private final Function<CacheConfig, Forecaster> forecaster;
    private final List<String> aliases;

    CacheMode(String displayName, Function<CacheConfig, Forecaster> forecaster, String... aliases) {
        this.displayName = displayName;
        this.forecaster = forecaster;
        this.aliases = List.of(aliases);
    }

    /**
     * A new forecaster of this mode for one generation. Adding a forecasting method is adding a
     * constant here with its forecaster.
     */
    public Forecaster newForecaster(CacheConfig config) {
        return forecaster.apply(config);
    }

    /** The canonical spelling, as upstream writes it. */
    @JsonValue
    public String displayName() {
        return displayName;
    }

    /** True when the mode skips work at forecast steps. */
    public boolean caches() {
        return this != ORIGINAL;
    }

    /** Parses a mode name or alias, case-insensitively ({@code hicache}, {@code HICACHE-analytic}, ...). */
    @JsonCreator
    public static CacheMode parse(String name) {
        if (name != null) {
            String n = name.trim().toLowerCase(Locale.ROOT);
            for (CacheMode m : values()) {
                if (m.displayName.toLowerCase(Locale.ROOT).equals(n) || m.aliases.contains(n)
                        || m.name().toLowerCase(Locale.ROOT).equals(n)) {
                    return m;
                }
            }
        }
        throw new IllegalArgumentException("unknown cache mode '" + name + "': use one of " + names());
    }

    /** The canonical names, comma separated. */
    public static String names() {
        return Arrays.stream(values()).map(CacheMode::displayName).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return displayName;
    }
}
