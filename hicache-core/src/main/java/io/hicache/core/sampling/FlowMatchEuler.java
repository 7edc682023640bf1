package io.hicache.core.sampling;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.runtime.Precision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The deterministic flow-matching Euler sampler of diffusers' {@code FlowMatchEulerDiscreteScheduler}
 * as the FLUX and Qwen-Image pipelines drive it, configured from {@code scheduler_config.json}.
 *
 * <p>Sigmas for N steps: {@code linspace(1, 1/N, N)}; then either the exponential time shift
 * {@code e^mu / (e^mu + (1/σ − 1))} with {@code mu} linear in the number of packed image tokens
 * ({@code use_dynamic_shifting}) or the static shift {@code shift·σ / (1 + (shift − 1)·σ)}; then, when
 * {@code shift_terminal} is set, the stretch that makes the last non-zero sigma equal it; finally 0 is
 * appended. The arithmetic is float32 like the reference's numpy arrays, so sigmas match it to the
 * last bit or two. The update is {@code x ← x + (σ_{i+1} − σ_i)·v} in float32.
 */
public final class FlowMatchEuler {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The largest static shift accepted (FLUX.1 uses 1 to 3; Stable Diffusion 3 uses 3). */
    static final double MAX_SHIFT = 1000;
    /** The largest |base_shift| and |max_shift| accepted (FLUX.1: 0.5 and 1.15). */
    static final double MAX_MU = 20;

    private final int numTrainTimesteps;
    private final double shift;
    private final boolean useDynamicShifting;
    private final double baseShift;
    private final double maxShift;
    private final long baseImageSeqLen;
    private final long maxImageSeqLen;
    private final Double shiftTerminal;

    private FlowMatchEuler(int numTrainTimesteps, double shift, boolean useDynamicShifting, double baseShift,
            double maxShift, long baseImageSeqLen, long maxImageSeqLen, Double shiftTerminal) {
        this.numTrainTimesteps = numTrainTimesteps;
        this.shift = shift;
        this.useDynamicShifting = useDynamicShifting;
        this.baseShift = baseShift;
        this.maxShift = maxShift;
        this.baseImageSeqLen = baseImageSeqLen;
        this.maxImageSeqLen = maxImageSeqLen;
        this.shiftTerminal = shiftTerminal;
    }

    /** Reads {@code scheduler/scheduler_config.json}. */
    public static FlowMatchEuler read(Path schedulerConfig) throws IOException {
        try {
            // bytes, not a String: Jackson names a bad UTF-8 byte where a decoder says only "Input length = 1"
            return fromJson(JSON.readTree(Files.readAllBytes(schedulerConfig)));
        } catch (JsonProcessingException e) {
            throw new InvalidModelException(schedulerConfig + ": not valid JSON: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column "
                            + e.getLocation().getColumnNr() + ")"), e);
        } catch (IllegalArgumentException e) {
            throw new InvalidModelException(schedulerConfig + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses a scheduler config; absent keys take diffusers' defaults. Options that change the
     * sampler into something else (Karras/exponential/beta sigmas, inverted sigmas, stochastic
     * sampling, the linear time shift) are refused rather than silently ignored, and so are values of
     * the wrong type or outside what a sampler can use.
     */
    public static FlowMatchEuler fromJson(String json) {
        try {
            return fromJson(JSON.readTree(json));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("scheduler config is not valid JSON: " + e.getMessage(), e);
        }
    }

    private static FlowMatchEuler fromJson(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("scheduler config is not a JSON object");
        }
        for (String flag : new String[] {"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                "invert_sigmas", "stochastic_sampling"}) {
            if (bool(root, flag, false)) {
                throw new IllegalArgumentException(flag + " = true is not supported");
            }
        }
        JsonNode shiftTypeNode = root.get("time_shift_type");
        String shiftType = shiftTypeNode == null || shiftTypeNode.isNull() ? "exponential" : shiftTypeNode.asText();
        if (!shiftType.equals("exponential")) {
            throw new IllegalArgumentException("time_shift_type '" + shiftType + "' is not supported (only exponential)");
        }
        JsonNode terminal = root.get("shift_terminal");
        FlowMatchEuler s = new FlowMatchEuler(
                (int) integer(root, "num_train_timesteps", 1000),
                number(root, "shift", 1.0),
                bool(root, "use_dynamic_shifting", false),
                number(root, "base_shift", 0.5),
                number(root, "max_shift", 1.15),
                integer(root, "base_image_seq_len", 256),
                integer(root, "max_image_seq_len", 4096),
                terminal == null || terminal.isNull() ? null : number(root, "shift_terminal", 0));
        s.validate();
        return s;
    }

    private static double number(JsonNode root, String key, double fallback) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) {
            return fallback;
        }
        check(v.isNumber(), key + " must be a number, got " + v);
        return v.doubleValue();
    }

    private static long integer(JsonNode root, String key, long fallback) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) {
            return fallback;
        }
        check(v.isIntegralNumber() && v.canConvertToInt(), key + " must be an integer, got " + v);
        return v.intValue();
    }

    private static boolean bool(JsonNode root, String key, boolean fallback) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) {
            return fallback;
        }
        check(v.isBoolean(), key + " must be true or false, got " + v);
        return v.booleanValue();
    }

    private void validate() {
        check(numTrainTimesteps > 0, "num_train_timesteps must be positive, got " + numTrainTimesteps);
        // sigmas are computed in float: a shift beyond MAX_SHIFT turns them into inf/NaN or all ones
        check(Double.isFinite(shift) && shift > 0 && shift <= MAX_SHIFT,
                "shift must be in (0, " + MAX_SHIFT + "], got " + shift);
        check(baseImageSeqLen > 0 && maxImageSeqLen > 0, "base_image_seq_len and max_image_seq_len must be positive");
        check(maxImageSeqLen != baseImageSeqLen || !useDynamicShifting,
                "max_image_seq_len must differ from base_image_seq_len");
        // the dynamic shift is exp(mu): beyond MAX_MU it overflows for the image sizes a run may ask for
        check(Double.isFinite(baseShift) && Double.isFinite(maxShift) && Math.abs(baseShift) <= MAX_MU
                && Math.abs(maxShift) <= MAX_MU, "base_shift and max_shift must be within ±" + MAX_MU + ", got "
                + baseShift + " and " + maxShift);
        check(shiftTerminal == null || (shiftTerminal > 0 && shiftTerminal < 1),
                "shift_terminal must be in (0, 1), got " + shiftTerminal);
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** The dynamic-shift exponent for {@code imageSeqLen} packed image tokens (pipelines' calculate_shift). */
    public double mu(long imageSeqLen) {
        double m = (maxShift - baseShift) / (maxImageSeqLen - baseImageSeqLen);
        double b = baseShift - m * baseImageSeqLen;
        return imageSeqLen * m + b;
    }

    /**
     * Checks that this scheduler can sample in {@code numSteps} steps.
     *
     * @throws IllegalArgumentException naming the rule
     */
    public void checkSteps(int numSteps) {
        if (numSteps < 1) {
            throw new IllegalArgumentException("at least one step is needed, got " + numSteps);
        }
        if (shiftTerminal != null && numSteps < 2) {
            // the stretch divides by 1 − σ of the last step, which is 0 when the only step is σ = 1
            // (diffusers computes NaN sigmas here)
            throw new IllegalArgumentException("this scheduler (shift_terminal " + shiftTerminal
                    + ") needs at least 2 steps, got " + numSteps);
        }
    }

    /** N + 1 sigmas, from 1 (pure noise) down to the appended 0. */
    public float[] sigmas(int numSteps, long imageSeqLen) {
        checkSteps(numSteps);
        float[] s = new float[numSteps + 1];
        float expMu = (float) Math.exp(mu(imageSeqLen));
        float staticShift = (float) shift;
        for (int i = 0; i < numSteps; i++) {
            // np.linspace(1, 1/N, N) in float64, then cast to float32
            // (numpy sets the last element to the end point exactly)
            double base = i == numSteps - 1 ? 1.0 / numSteps : 1.0 + i * ((1.0 / numSteps - 1.0) / (numSteps - 1));
            float t = (float) base;
            s[i] = useDynamicShifting
                    ? expMu / (expMu + (1f / t - 1f))
                    : staticShift * t / (1f + (staticShift - 1f) * t);
        }
        if (shiftTerminal != null) {
            float lastOneMinus = 1f - s[numSteps - 1];
            float scale = lastOneMinus / (float) (1 - shiftTerminal);
            for (int i = 0; i < numSteps; i++) {
                s[i] = 1f - (1f - s[i]) / scale;
            }
        }
        s[numSteps] = 0f;
        return s;
    }

    /**
     * The timestep handed to a model at sigma σ in the reference pipelines' units: they pass
     * {@code σ·num_train_timesteps / 1000}, which the transformers multiply by 1000 again.
     */
    public float modelTimestep(float sigma) {
        return sigma * numTrainTimesteps / 1000f;
    }

    /**
     * One Euler step {@code x + (σ_next − σ)·v}, computed in float32 and returned as a new float32
     * tensor in x's manager; {@code velocity} may be in any float dtype.
     */
    public static NDArray step(NDArray x, NDArray velocity, float sigma, float sigmaNext) {
        if (!x.getShape().equals(velocity.getShape())) {
            throw new IllegalArgumentException("latents " + x.getShape() + " and velocity " + velocity.getShape()
                    + " differ in shape");
        }
        float dt = sigmaNext - sigma;
        NDArray x32 = Precision.toFloat32(x);
        NDArray v32 = Precision.toFloat32(velocity);
        try (NDArray scaled = v32.mul(dt)) {
            return x32.add(scaled);
        } finally {
            if (x32 != x) {
                x32.close();
            }
            if (v32 != velocity) {
                v32.close();
            }
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "FlowMatchEuler(dynamic=%s, shift=%s, base/max shift=%s/%s, seq %d/%d%s)",
                useDynamicShifting, shift, baseShift, maxShift, baseImageSeqLen, maxImageSeqLen,
                shiftTerminal == null ? "" : ", shift_terminal=" + shiftTerminal);
    }
}
