package io.hicache.cli;

import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.InvalidSettingException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Help;
import picocli.CommandLine.Option;

/**
 * The {@code --chipmunk-*} options of {@code --backend chipmunk} (docs/chipmunk.md): each is one of
 * Chipmunk's settings, handed to the backend as text under Chipmunk's YAML name; the backend holds
 * the defaults and the ranges. Only the options given are handed over, on top of
 * {@code --chipmunk-config FILE}'s settings.
 */
final class ChipmunkOptions {
    private static final Logger LOG = LoggerFactory.getLogger(ChipmunkOptions.class);
    static final String BACKEND = "chipmunk";

    @Option(order = 601, names = "--chipmunk-attn-is-enabled", paramLabel = "BOOL", showDefaultValue = Help.Visibility.NEVER,
            description = "Sparse-delta attention on (default: true).")
    String attnIsEnabled;

    @Option(order = 602, names = "--chipmunk-attn-top-keys", paramLabel = "F", showDefaultValue = Help.Visibility.NEVER,
            description = "Share of the keys each query block keeps, in (0, 1] (default: 0.15).")
    String attnTopKeys;

    @Option(order = 603, names = "--chipmunk-attn-full-step-every", paramLabel = "N",
            showDefaultValue = Help.Visibility.NEVER,
            description = "Dense attention every N steps, besides steps 0 and 1 (default: 10).")
    String attnFullStepEvery;

    @Option(order = 604, names = "--chipmunk-attn-full-step-schedule", paramLabel = "LIST",
            showDefaultValue = Help.Visibility.NEVER,
            description = "Explicit dense attention steps (comma list), replacing the cadence and the warm-up; "
                    + "none = unset (default).")
    String attnFullStepSchedule;

    @Option(order = 605, names = "--chipmunk-attn-first-n-dense-layers", paramLabel = "N",
            showDefaultValue = Help.Visibility.NEVER, description = "Layers whose attention is always dense (default: 2).")
    String attnFirstNDenseLayers;

    @Option(order = 606, names = "--chipmunk-attn-recompute-mask", paramLabel = "BOOL",
            showDefaultValue = Help.Visibility.NEVER,
            description = "Select the keys again at every dense step, not only at step 1 (default: false).")
    String attnRecomputeMask;

    @Option(order = 607, names = "--chipmunk-attn-bm", paramLabel = "N", showDefaultValue = Help.Visibility.NEVER,
            description = "Queries per block (default: 192).")
    String attnBm;

    @Option(order = 611, names = "--chipmunk-mlp-is-enabled", paramLabel = "BOOL", showDefaultValue = Help.Visibility.NEVER,
            description = "Sparse-delta MLP on (default: true).")
    String mlpIsEnabled;

    @Option(order = 612, names = "--chipmunk-mlp-top-keys", paramLabel = "F", showDefaultValue = Help.Visibility.NEVER,
            description = "Share of the neurons each token block recomputes, in [0, 1] (default: 0.3).")
    String mlpTopKeys;

    @Option(order = 613, names = "--chipmunk-mlp-random-keys", paramLabel = "F", showDefaultValue = Help.Visibility.NEVER,
            description = "Share of the other neurons recomputed too, chosen by a fixed hash, in [0, 1] (default: 0.05).")
    String mlpRandomKeys;

    @Option(order = 614, names = "--chipmunk-mlp-full-step-every", paramLabel = "N",
            showDefaultValue = Help.Visibility.NEVER, description = "Dense MLP every N steps (default: 10).")
    String mlpFullStepEvery;

    @Option(order = 615, names = "--chipmunk-mlp-block-mask-cache", paramLabel = "N",
            showDefaultValue = Help.Visibility.NEVER,
            description = "From step 10 on, choose the neurons again every N-th step (default: 2).")
    String mlpBlockMaskCache;

    @Option(order = 616, names = "--chipmunk-mlp-first-n-dense-layers", paramLabel = "N",
            showDefaultValue = Help.Visibility.NEVER, description = "Layers whose MLP is always dense (default: 2).")
    String mlpFirstNDenseLayers;

    @Option(order = 617, names = "--chipmunk-mlp-bm", paramLabel = "N", showDefaultValue = Help.Visibility.NEVER,
            description = "Tokens per block (default: 128).")
    String mlpBm;

    @Option(order = 621, names = "--chipmunk-patchify-is-enabled", paramLabel = "BOOL",
            showDefaultValue = Help.Visibility.NEVER,
            description = "Reorder image tokens in 8x8 tiles so blocks are spatial; needs sizes in multiples of "
                    + "16 x chunk-size-1 px (default: true).")
    String patchifyIsEnabled;

    @Option(order = 622, names = "--chipmunk-patchify-chunk-size-1", paramLabel = "N",
            showDefaultValue = Help.Visibility.NEVER, description = "Tile side in tokens (default: 8).")
    String patchifyChunkSize1;

    @Option(order = 623, names = "--chipmunk-patchify-chunk-size-2", paramLabel = "N",
            showDefaultValue = Help.Visibility.NEVER, description = "Sub-tile side in tokens, dividing the tile's (default: 4).")
    String patchifyChunkSize2;

    @Option(order = 631, names = "--chipmunk-catch-up", paramLabel = "BOOL", showDefaultValue = Help.Visibility.NEVER,
            description = "Under step caching, run dense (or choose neurons) when a step where that was due was "
                    + "skipped (default: true).")
    String catchUp;

    @Option(order = 632, names = "--chipmunk-config", paramLabel = "FILE",
            description = "Chipmunk settings in Chipmunk's YAML layout (attn:, mlp:, patchify: sections); the "
                    + "options above win over it.")
    Path configFile;

    /** The options given, by Chipmunk setting; each with its option name. */
    private Map<String, String[]> given() {
        Map<String, String[]> m = new LinkedHashMap<>();
        put(m, "attn.is_enabled", "--chipmunk-attn-is-enabled", attnIsEnabled);
        put(m, "attn.top_keys", "--chipmunk-attn-top-keys", attnTopKeys);
        put(m, "attn.full_step_every", "--chipmunk-attn-full-step-every", attnFullStepEvery);
        put(m, "attn.full_step_schedule", "--chipmunk-attn-full-step-schedule", attnFullStepSchedule);
        put(m, "attn.first_n_dense_layers", "--chipmunk-attn-first-n-dense-layers", attnFirstNDenseLayers);
        put(m, "attn.recompute_mask", "--chipmunk-attn-recompute-mask", attnRecomputeMask);
        put(m, "attn.bm", "--chipmunk-attn-bm", attnBm);
        put(m, "mlp.is_enabled", "--chipmunk-mlp-is-enabled", mlpIsEnabled);
        put(m, "mlp.top_keys", "--chipmunk-mlp-top-keys", mlpTopKeys);
        put(m, "mlp.random_keys", "--chipmunk-mlp-random-keys", mlpRandomKeys);
        put(m, "mlp.full_step_every", "--chipmunk-mlp-full-step-every", mlpFullStepEvery);
        put(m, "mlp.block_mask_cache", "--chipmunk-mlp-block-mask-cache", mlpBlockMaskCache);
        put(m, "mlp.first_n_dense_layers", "--chipmunk-mlp-first-n-dense-layers", mlpFirstNDenseLayers);
        put(m, "mlp.bm", "--chipmunk-mlp-bm", mlpBm);
        put(m, "patchify.is_enabled", "--chipmunk-patchify-is-enabled", patchifyIsEnabled);
        put(m, "patchify.chunk_size_1", "--chipmunk-patchify-chunk-size-1", patchifyChunkSize1);
        put(m, "patchify.chunk_size_2", "--chipmunk-patchify-chunk-size-2", patchifyChunkSize2);
        put(m, "catch_up", "--chipmunk-catch-up", catchUp);
        return m;
    }

    private static void put(Map<String, String[]> m, String key, String option, String value) {
        if (value != null) {
            m.put(key, new String[] {option, value});
        }
    }

    /** The first Chipmunk option given, or null when none is. */
    String firstGiven() {
        Map<String, String[]> g = given();
        if (!g.isEmpty()) {
            return g.values().iterator().next()[0];
        }
        return configFile == null ? null : "--chipmunk-config";
    }

    /**
     * {@code backend} with these options applied; exit-2 errors for options without the chipmunk
     * backend, an unreadable config file and an invalid value (naming the option or the file).
     */
    Backend apply(Backend backend) {
        String first = firstGiven();
        if (first == null) {
            return backend;
        }
        if (!backend.name().equals(BACKEND)) {
            throw new UsageException(first + " needs --backend " + BACKEND + " (the backend is " + backend.name() + ")");
        }
        Map<String, String> settings = new LinkedHashMap<>();
        if (configFile != null) {
            settings.putAll(FlatYaml.read(configFile));
        }
        Map<String, String[]> flags = given();
        flags.forEach((key, optionValue) -> settings.put(key, optionValue[1]));
        List<String> ignored = new ArrayList<>();
        Backend configured;
        try {
            configured = backend.configure(settings, ignored::add);
        } catch (InvalidSettingException e) {
            String where = flags.containsKey(e.key()) ? flags.get(e.key())[0] : "--chipmunk-config " + configFile;
            throw new UsageException(where + ": " + e.getMessage(), e);
        }
        if (!ignored.isEmpty()) {
            LOG.warn("--chipmunk-config {}: ignoring settings this backend does not use: {}", configFile,
                    String.join(", ", ignored));
        }
        return configured;
    }
}
