package io.hicache.core.sampling;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
            return fromJson(Files.readString(schedulerConfig));
        } catch (IllegalArgumentException e) {
            throw new IOException(schedulerConfig + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses a scheduler config; absent keys take diffusers' defaults. Options that change the
     * sampler into something else (Karras/exponential/beta sigmas, inverted sigmas, stochastic
     * sampling, the linear time shift) are refused rather than silently ignored.
     */
    public static FlowMatchEuler fromJson(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("scheduler config is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("scheduler config is not a JSON object");
        }
        for (String flag : new String[] {"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                "invert_sigmas", "stochastic_sampling"}) {
            if (root.path(flag).asBoolean(false)) {
                throw new IllegalArgumentException(flag + " = true is not supported");
            }
        }
        String shiftType = root.path("time_shift_type").asText("exponential");
        if (!shiftType.equals("exponential")) {
            throw new IllegalArgumentException("time_shift_type '" + shiftType + "' is not supported (only exponential)");
        }
        JsonNode terminal = root.get("shift_terminal");
        FlowMatchEuler s = new FlowMatchEuler(
                root.path("num_train_timesteps").asInt(1000),
                root.path("shift").asDouble(1.0),
                root.path("use_dynamic_shifting").asBoolean(false),
                root.path("base_shift").asDouble(0.5),
                root.path("max_shift").asDouble(1.15),
                root.path("base_image_seq_len").asLong(256),
                root.path("max_image_seq_len").asLong(4096),
                terminal == null || terminal.isNull() ? null : terminal.asDouble());
        s.validate();
        return s;
    }

    private void validate() {
        check(numTrainTimesteps > 0, "num_train_timesteps must be positive, got " + numTrainTimesteps);
        check(Double.isFinite(shift) && shift > 0, "shift must be positive, got " + shift);
        check(maxImageSeqLen != baseImageSeqLen || !useDynamicShifting,
                "max_image_seq_len must differ from base_image_seq_len");
        check(Double.isFinite(baseShift) && Double.isFinite(maxShift), "base_shift and max_shift must be finite");
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

    /** N + 1 sigmas, from 1 (pure noise) down to the appended 0. */
    public float[] sigmas(int numSteps, long imageSeqLen) {
        if (numSteps < 1) {
            throw new IllegalArgumentException("at least one step is needed, got " + numSteps);
        }
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
