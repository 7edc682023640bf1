package io.hicache.chipmunk;

import io.hicache.core.pipeline.InvalidSettingException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Chipmunk's settings on FLUX (docs/chipmunk.md §8–§9), named as in Chipmunk's YAML layout
 * ({@code attn.top_keys}, {@code mlp.bm}, {@code patchify.is_enabled}, ...); the defaults are its
 * FLUX configuration. Every value is range-checked here, once.
 *
 * @param attnFullStepSchedule explicit dense attention steps replacing the cadence and the warm-up, or null
 * @param catchUp run a module dense (or refresh its neuron sets) when a step where that was due was
 *     skipped by step caching (§6)
 */
public record ChipmunkConfig(
        boolean attnEnabled,
        double attnTopKeys,
        int attnFullStepEvery,
        int[] attnFullStepSchedule,
        int attnFirstNDenseLayers,
        boolean attnRecomputeMask,
        int attnBm,
        boolean mlpEnabled,
        double mlpTopKeys,
        double mlpRandomKeys,
        int mlpFullStepEvery,
        int mlpBlockMaskCache,
        int mlpFirstNDenseLayers,
        int mlpBm,
        boolean patchifyEnabled,
        int patchifyChunkSize1,
        int patchifyChunkSize2,
        boolean catchUp) {

    /** Every setting this backend uses, in the order of §9. */
    public static final List<String> KEYS = List.of("attn.is_enabled", "attn.top_keys", "attn.full_step_every",
            "attn.full_step_schedule", "attn.first_n_dense_layers", "attn.recompute_mask", "attn.bm", "mlp.is_enabled",
            "mlp.top_keys", "mlp.random_keys", "mlp.full_step_every", "mlp.block_mask_cache",
            "mlp.first_n_dense_layers", "mlp.bm", "patchify.is_enabled", "patchify.chunk_size_1",
            "patchify.chunk_size_2", "catch_up");

    /** Older spellings of Chipmunk's configs that mean the same setting. */
    private static final Map<String, String> ALIASES = Map.of("attn.mbm", "attn.bm", "mlp.mbm", "mlp.bm");

    public ChipmunkConfig {
        check(attnTopKeys > 0 && attnTopKeys <= 1, "attn.top_keys", "must be in (0, 1]", attnTopKeys);
        check(attnFullStepEvery >= 1, "attn.full_step_every", "must be >= 1", attnFullStepEvery);
        if (attnFullStepSchedule != null) {
            attnFullStepSchedule = attnFullStepSchedule.clone();
            for (int s : attnFullStepSchedule) {
                check(s >= 0, "attn.full_step_schedule", "steps must be >= 0", s);
            }
        }
        check(attnFirstNDenseLayers >= 0, "attn.first_n_dense_layers", "must be >= 0", attnFirstNDenseLayers);
        check(attnBm >= 1, "attn.bm", "must be >= 1", attnBm);
        check(mlpTopKeys >= 0 && mlpTopKeys <= 1, "mlp.top_keys", "must be in [0, 1]", mlpTopKeys);
        check(mlpRandomKeys >= 0 && mlpRandomKeys <= 1, "mlp.random_keys", "must be in [0, 1]", mlpRandomKeys);
        check(mlpFullStepEvery >= 1, "mlp.full_step_every", "must be >= 1", mlpFullStepEvery);
        check(mlpBlockMaskCache >= 1, "mlp.block_mask_cache", "must be >= 1", mlpBlockMaskCache);
        check(mlpFirstNDenseLayers >= 0, "mlp.first_n_dense_layers", "must be >= 0", mlpFirstNDenseLayers);
        check(mlpBm >= 1, "mlp.bm", "must be >= 1", mlpBm);
        check(patchifyChunkSize1 >= 1, "patchify.chunk_size_1", "must be >= 1", patchifyChunkSize1);
        check(patchifyChunkSize2 >= 1, "patchify.chunk_size_2", "must be >= 1", patchifyChunkSize2);
        check(patchifyChunkSize1 % patchifyChunkSize2 == 0, "patchify.chunk_size_1",
                "must be a multiple of patchify.chunk_size_2 (" + patchifyChunkSize2 + ")", patchifyChunkSize1);
    }

    /** Chipmunk's FLUX configuration (the newer tree: attention keeps 15 % of the keys). */
    public static ChipmunkConfig defaults() {
        return new ChipmunkConfig(true, 0.15, 10, null, 2, false, 192, true, 0.3, 0.05, 10, 2, 2, 128, true, 8, 4, true);
    }

    /**
     * These settings with {@code settings} (key → value as text, in {@link #KEYS}' naming) applied
     * on top. Keys this backend does not use are handed to {@code ignored}.
     *
     * @throws InvalidSettingException naming the key, for a malformed or out-of-range value
     */
    public ChipmunkConfig with(Map<String, String> settings, java.util.function.Consumer<String> ignored) {
        Map<String, String> v = new LinkedHashMap<>(asSettings());
        settings.forEach((key, value) -> {
            String k = ALIASES.getOrDefault(key, key);
            if (KEYS.contains(k)) {
                v.put(k, value);
            } else {
                ignored.accept(key);
            }
        });
        return new ChipmunkConfig(bool(v, "attn.is_enabled"), real(v, "attn.top_keys"), integer(v, "attn.full_step_every"),
                    schedule(v, "attn.full_step_schedule"), integer(v, "attn.first_n_dense_layers"),
                    bool(v, "attn.recompute_mask"), integer(v, "attn.bm"), bool(v, "mlp.is_enabled"),
                    real(v, "mlp.top_keys"), real(v, "mlp.random_keys"), integer(v, "mlp.full_step_every"),
                    integer(v, "mlp.block_mask_cache"), integer(v, "mlp.first_n_dense_layers"), integer(v, "mlp.bm"),
                    bool(v, "patchify.is_enabled"), integer(v, "patchify.chunk_size_1"),
                integer(v, "patchify.chunk_size_2"), bool(v, "catch_up"));
    }

    /** Every setting as text, in {@link #KEYS}' order and naming (what run.json records). */
    public Map<String, String> asSettings() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("attn.is_enabled", String.valueOf(attnEnabled));
        m.put("attn.top_keys", String.valueOf(attnTopKeys));
        m.put("attn.full_step_every", String.valueOf(attnFullStepEvery));
        m.put("attn.full_step_schedule", attnFullStepSchedule == null ? "none"
                : String.join(",", Arrays.stream(attnFullStepSchedule).mapToObj(String::valueOf).toList()));
        m.put("attn.first_n_dense_layers", String.valueOf(attnFirstNDenseLayers));
        m.put("attn.recompute_mask", String.valueOf(attnRecomputeMask));
        m.put("attn.bm", String.valueOf(attnBm));
        m.put("mlp.is_enabled", String.valueOf(mlpEnabled));
        m.put("mlp.top_keys", String.valueOf(mlpTopKeys));
        m.put("mlp.random_keys", String.valueOf(mlpRandomKeys));
        m.put("mlp.full_step_every", String.valueOf(mlpFullStepEvery));
        m.put("mlp.block_mask_cache", String.valueOf(mlpBlockMaskCache));
        m.put("mlp.first_n_dense_layers", String.valueOf(mlpFirstNDenseLayers));
        m.put("mlp.bm", String.valueOf(mlpBm));
        m.put("patchify.is_enabled", String.valueOf(patchifyEnabled));
        m.put("patchify.chunk_size_1", String.valueOf(patchifyChunkSize1));
        m.put("patchify.chunk_size_2", String.valueOf(patchifyChunkSize2));
        m.put("catch_up", String.valueOf(catchUp));
        return m;
    }

    /** Whether attention is a scheduled dense step at {@code n} (§2: warm-up n < 2 and the cadence, or the schedule). */
    boolean attnScheduledDense(int n) {
        if (attnFullStepSchedule != null) {
            for (int s : attnFullStepSchedule) {
                if (s == n) {
                    return true;
                }
            }
            return false;
        }
        return n < 2 || n % attnFullStepEvery == 0;
    }

    /** Whether the MLP is a scheduled dense step at {@code n}. */
    boolean mlpScheduledDense(int n) {
        return n % mlpFullStepEvery == 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChipmunkConfig c && asSettings().equals(c.asSettings());
    }

    @Override
    public int hashCode() {
        return asSettings().hashCode();
    }

    @Override
    public String toString() {
        return "ChipmunkConfig" + asSettings();
    }

    private static void check(boolean ok, String key, String rule, Object value) {
        if (!ok) {
            throw new InvalidSettingException(key, key + " " + rule + ", got " + value);
        }
    }

    private static boolean bool(Map<String, String> v, String key) {
        String s = v.get(key).trim().toLowerCase(Locale.ROOT);
        if (s.equals("true")) {
            return true;
        }
        if (s.equals("false")) {
            return false;
        }
        throw new InvalidSettingException(key, key + " must be true or false, got '" + v.get(key) + "'");
    }

    private static int integer(Map<String, String> v, String key) {
        try {
            return Integer.parseInt(v.get(key).trim());
        } catch (NumberFormatException e) {
            throw new InvalidSettingException(key, key + " must be an integer, got '" + v.get(key) + "'");
        }
    }

    private static double real(Map<String, String> v, String key) {
        try {
            double d = Double.parseDouble(v.get(key).trim());
            if (!Double.isFinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new InvalidSettingException(key, key + " must be a number, got '" + v.get(key) + "'");
        }
    }

    /** A comma list of steps, or none/null/empty for no schedule. */
    private static int[] schedule(Map<String, String> v, String key) {
        String s = v.get(key).trim();
        if (s.isEmpty() || s.equalsIgnoreCase("none") || s.equalsIgnoreCase("null") || s.equals("~")) {
            return null;
        }
        List<Integer> steps = new ArrayList<>();
        for (String part : s.split(",", -1)) {
            try {
                steps.add(Integer.parseInt(part.trim()));
            } catch (NumberFormatException e) {
                throw new InvalidSettingException(key, key + " must be a comma list of steps or none, got '" + s + "'");
            }
        }
        return steps.stream().mapToInt(Integer::intValue).toArray();
    }
}
