package io.hicache.core.cache;

import ai.djl.ndarray.NDArray;
import io.hicache.core.runtime.Kernels;
import java.util.HashMap;
import java.util.Map;

/**
 * HiCache-Analytic's per-layer scale. Each time a full step forms a first-order difference Δ¹F
 * for any module of a layer, the statistic D (mean token L2 norm of Δ¹F, or a quantile of the
 * norms) updates q: the first observation sets q = D, later ones q ← √((1−β)q² + βD²); with β ≤ 0
 * q follows the latest D. Then σ = min(σ_max, α / (√2·q + ε)), q = 1 before any statistic. With
 * smoothing γ > 0 every σ request moves in the log domain: σ ← min(σ_max, exp((1−γ)·ln σ_prev +
 * γ·ln σ_new)), starting from σ_prev = σ_new. Upstream keys the state by layer only, so the four
 * modules of a double block share one statistic; here the key is (branch, layer).
 */
final class AnalyticSigma {
    private final CacheConfig config;
    private final Map<String, Double> q = new HashMap<>();
    private final Map<String, Double> previousSigma = new HashMap<>();

    AnalyticSigma(CacheConfig config) {
        this.config = config;
    }

    private static String key(SiteKey site) {
        return site.branch() + "/" + site.layer();
    }

    /** Feeds one observation of the Δ¹F statistic for the site's layer. */
    void observe(SiteKey site, double statistic) {
        double beta = config.analyticBeta();
        q.merge(key(site), statistic,
                (old, d) -> beta > 0 ? Math.sqrt((1 - beta) * old * old + beta * d * d) : d);
    }

    /** The current q of the site's layer (1 before any observation). */
    double statistic(SiteKey site) {
        return q.getOrDefault(key(site), 1.0);
    }

    /** σ for a forecast at this site, advancing the smoothing state when enabled. */
    double sigma(SiteKey site) {
        double raw = Math.min(config.analyticSigmaMax(),
                config.analyticAlpha() / (Math.sqrt(2) * statistic(site) + config.analyticEps()));
        double gamma = config.analyticSmooth();
        if (gamma <= 0) {
            return raw;
        }
        double eps = config.analyticEps();
        double prev = previousSigma.getOrDefault(key(site), raw);
        double smoothed = Math.min(config.analyticSigmaMax(),
                Math.exp((1 - gamma) * Math.log(Math.max(prev, eps)) + gamma * Math.log(Math.max(raw, eps))));
        previousSigma.put(key(site), smoothed);
        return smoothed;
    }

    void clear() {
        q.clear();
        previousSigma.clear();
    }

    /** HiCache's Hermite forecast with σ from this rule, fed with every D¹ a full step forms. */
    static Forecaster forecaster(CacheConfig config) {
        AnalyticSigma sigma = new AnalyticSigma(config);
        return new Forecaster() {
            @Override
            public double[] coefficients(SiteKey site, int stored, double x) {
                return Basis.hermite(sigma.sigma(site), config.maxOrder()).coefficients(stored, x);
            }

            @Override
            public int orderLimit() {
                return config.maxOrder();
            }

            @Override
            public boolean observesFirstDerivative() {
                return true;
            }

            @Override
            public void observe(SiteKey site, NDArray d1) {
                Kernels k = Kernels.of(d1);
                Double quantile = config.analyticQuantile();
                sigma.observe(site, quantile == null ? k.tokenNormMean(d1) : k.tokenNormQuantile(d1, quantile));
            }
        };
    }
}
