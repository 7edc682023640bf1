package io.hicache.cli;

import io.hicache.core.cache.CacheConfig;
import java.util.Map;

/** Names a rejected cache parameter by the command-line option that set it. */
final class CacheOptionNames {
    private CacheOptionNames() {}

    /** {@link CacheConfig}'s property → the option of the generate command. */
    private static final Map<String, String> OPTIONS = Map.of(
            "interval", "--interval",
            "maxOrder", "--max-order",
            "firstEnhance", "--first-enhance",
            "hicacheScale", "--hicache-scale",
            "analyticAlpha", "--analytic-sigma-alpha",
            "analyticSigmaMax", "--analytic-sigma-max",
            "analyticBeta", "--analytic-sigma-beta",
            "analyticEps", "--analytic-sigma-eps",
            "analyticQuantile", "--analytic-sigma-q-quantile",
            "analyticSmooth", "--analytic-sigma-smooth");

    /**
     * The usage error for {@code e}, e.g. {@code --first-enhance must be >= 1, got 0}.
     *
     * @param renamed options a command spells differently (bench: interval → {@code --intervals})
     */
    static UsageException usageError(IllegalArgumentException e, Map<String, String> renamed) {
        if (e instanceof CacheConfig.InvalidValue v) {
            String option = renamed.getOrDefault(v.property(), OPTIONS.getOrDefault(v.property(), v.property()));
            return new UsageException(option + " " + v.problem(), e);
        }
        return new UsageException(e.getMessage(), e);
    }
}
