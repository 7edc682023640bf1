package io.hicache.core.cache;

import ai.djl.ndarray.NDArray;

/**
 * Predicts a skipped module output from its stored divided differences D^0..D^{c−1}: the
 * coefficients α_k of F̂ = Σ α_k·D^k for one site at distance x (steps since its last full step).
 * One instance per generation; it may keep per-site state fed by {@link #observe}.
 * {@link CacheMode} names the forecaster of each mode.
 */
public interface Forecaster {
    /** Coefficients for {@code stored} available orders (≥ 1) at distance {@code x}; α_0 = 1. */
    double[] coefficients(SiteKey site, int stored, double x);

    /** How many orders a site keeps: FORA keeps D^0 only, the Taylor family up to max_order. */
    int orderLimit();

    /** Whether {@link #observe} wants the first derivative after each full step that forms one. */
    default boolean observesFirstDerivative() {
        return false;
    }

    /** Sees D¹ of {@code site} right after a full step formed it (a view: do not keep it). */
    default void observe(SiteKey site, NDArray firstDerivative) {
    }

    /** A forecaster of one fixed basis for every site. */
    static Forecaster of(Basis basis, int orderLimit) {
        return new Forecaster() {
            @Override
            public double[] coefficients(SiteKey site, int stored, double x) {
                return basis.coefficients(stored, x);
            }

            @Override
            public int orderLimit() {
                return orderLimit;
            }
        };
    }
}
