package io.hicache.cli;

import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import picocli.CommandLine.Option;

/**
 * The cache parameters, defined once for every command that takes them (generate, {@code bench},
 * {@code replay}); the defaults are {@link CacheConfig}'s. Generating takes one value per
 * parameter; {@code bench} and {@code replay --sweep} take comma-separated lists and try every
 * combination.
 */
final class CacheParameterOptions {
    @Option(order = 302, names = {"--interval", "--intervals"}, paramLabel = "N",
            description = "Full-step interval.")
    String interval = String.valueOf(CacheConfig.DEFAULT_INTERVAL);

    @Option(order = 303, names = {"--max-order", "--max_order"}, paramLabel = "K",
            description = "Highest derivative order forecast.")
    String maxOrder = String.valueOf(CacheConfig.DEFAULT_MAX_ORDER);

    @Option(order = 304, names = {"--first-enhance", "--first_enhance"}, paramLabel = "N",
            description = "Warm-up full steps.")
    String firstEnhance = String.valueOf(CacheConfig.DEFAULT_FIRST_ENHANCE);

    @Option(order = 305, names = {"--hicache-scale", "--hicache_scale"}, paramLabel = "SIGMA",
            description = "Hermite scale σ.")
    String hicacheScale = String.valueOf(CacheConfig.DEFAULT_SCALE);

    @Option(order = 306, names = {"--analytic-sigma-alpha", "--analytic_sigma_alpha"}, paramLabel = "A",
            description = "HiCache-Analytic: σ = min(σmax, A / (√2·q + eps)) (default: "
                    + CacheConfig.DEFAULT_ANALYTIC_ALPHA + ").")
    Double analyticAlpha;

    @Option(order = 307, names = {"--analytic-sigma-max", "--analytic_sigma_max"}, paramLabel = "S",
            description = "HiCache-Analytic: largest σ (default: " + CacheConfig.DEFAULT_ANALYTIC_SIGMA_MAX + ").")
    Double analyticMax;

    @Option(order = 308, names = {"--analytic-sigma-beta", "--analytic_sigma_beta"}, paramLabel = "B",
            description = "HiCache-Analytic: EMA weight of q (default: " + CacheConfig.DEFAULT_ANALYTIC_BETA + ").")
    Double analyticBeta;

    @Option(order = 309, names = {"--analytic-sigma-eps", "--analytic_sigma_eps"}, paramLabel = "E",
            description = "HiCache-Analytic: eps (default: " + CacheConfig.DEFAULT_ANALYTIC_EPS + ").")
    Double analyticEps;

    @Option(order = 310, names = {"--analytic-sigma-q-quantile", "--analytic_sigma_q_quantile"}, paramLabel = "Q",
            description = "HiCache-Analytic: use this quantile of token norms instead of their mean.")
    Double analyticQuantile;

    @Option(order = 311, names = {"--analytic-sigma-smooth", "--analytic_sigma_smooth"}, paramLabel = "G",
            description = "HiCache-Analytic: log-domain smoothing of σ (default: "
                    + CacheConfig.DEFAULT_ANALYTIC_SMOOTH + ").")
    Double analyticSmooth;

    /** Whether any HiCache-Analytic option was given (they only apply to that mode). */
    boolean analyticGiven() {
        return Stream.of(analyticAlpha, analyticMax, analyticBeta, analyticEps, analyticQuantile, analyticSmooth)
                .anyMatch(v -> v != null);
    }

    /** The one configuration these options give in {@code mode}. */
    CacheConfig one(CacheMode mode) {
        return build(mode, single("--interval", interval, Integer::parseInt),
                single("--max-order", maxOrder, Integer::parseInt),
                single("--first-enhance", firstEnhance, Integer::parseInt),
                single("--hicache-scale", hicacheScale, Double::parseDouble), Map.of());
    }

    /**
     * Every combination of the listed values in every mode, without repeats of parameters a mode
     * does not use (σ outside HiCache and Taylor-Scaled, the order in FORA).
     *
     * @param intervals the intervals to use instead of {@code --interval}'s value, or null (bench
     *     compares several unless the user names some)
     */
    List<CacheConfig> grid(List<CacheMode> modes, List<Integer> intervals, Map<String, String> renamed) {
        List<Integer> ns = intervals != null ? intervals : list("--interval", interval, Integer::parseInt);
        List<Integer> ks = list("--max-order", maxOrder, Integer::parseInt);
        List<Integer> fes = list("--first-enhance", firstEnhance, Integer::parseInt);
        List<Double> ss = list("--hicache-scale", hicacheScale, Double::parseDouble);
        List<CacheConfig> out = new ArrayList<>();
        List<String> tags = new ArrayList<>();
        for (CacheMode mode : modes) {
            for (Integer n : ns) {
                for (Integer k : ks) {
                    for (Integer fe : fes) {
                        for (Double s : ss) {
                            CacheConfig c = build(mode, n, k, fe, s, renamed);
                            if (!tags.contains(c.tag())) {
                                tags.add(c.tag());
                                out.add(c);
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    private CacheConfig build(CacheMode mode, Integer n, Integer k, Integer fe, Double s, Map<String, String> renamed) {
        try {
            return CacheConfig.builder(mode).interval(n).maxOrder(k).firstEnhance(fe).hicacheScale(s)
                    .analyticAlpha(analyticAlpha).analyticSigmaMax(analyticMax).analyticBeta(analyticBeta)
                    .analyticEps(analyticEps).analyticQuantile(analyticQuantile).analyticSmooth(analyticSmooth)
                    .build();
        } catch (IllegalArgumentException e) {
            throw CacheOptionNames.usageError(e, renamed);
        }
    }

    /** The value of {@code option}, or null (the default) when it is not given. */
    private static <T> T single(String option, String value, Function<String, T> parse) {
        if (value == null) {
            return null;
        }
        if (value.contains(",")) {
            throw new UsageException(option + " takes one value here, got '" + value
                    + "' (lists are for hicache bench and hicache replay --sweep)");
        }
        return parse(option, value.trim(), parse);
    }

    /** The comma-separated values of {@code option}; [null] (the default) when it is not given. */
    private static <T> List<T> list(String option, String value, Function<String, T> parse) {
        List<T> out = new ArrayList<>();
        if (value == null) {
            out.add(null);
            return out;
        }
        for (String part : value.split(",", -1)) {
            if (part.isBlank()) {
                throw new UsageException(option + ": empty value in '" + value + "'");
            }
            out.add(parse(option, part.trim(), parse));
        }
        return out;
    }

    private static <T> T parse(String option, String value, Function<String, T> parse) {
        try {
            return parse.apply(value);
        } catch (NumberFormatException e) {
            throw new UsageException(option + ": '" + value + "' is not a number");
        }
    }
}
