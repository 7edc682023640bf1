package io.hicache.core.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sigma schedules against the worked values of docs/models.md §1.5 (6 decimals) and the
 * BFL golden schedule of docs/models.md §1.5 (float64 values; the reference computes in fp32).
 */
class FlowMatchEulerTest {
    /** FLUX.1-dev scheduler/scheduler_config.json. */
    static final String FLUX_DEV = "{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\", \"_diffusers_version\": \"0.30.0.dev0\","
            + " \"base_image_seq_len\": 256, \"base_shift\": 0.5, \"max_image_seq_len\": 4096, \"max_shift\": 1.15,"
            + " \"num_train_timesteps\": 1000, \"shift\": 3.0, \"use_dynamic_shifting\": true}";
    /** Qwen-Image scheduler/scheduler_config.json (as tabulated in docs/models.md §1.5). */
    static final String QWEN_IMAGE = "{\"base_image_seq_len\": 256, \"base_shift\": 0.5, \"invert_sigmas\": false,"
            + " \"max_image_seq_len\": 8192, \"max_shift\": 0.9, \"num_train_timesteps\": 1000, \"shift\": 1.0,"
            + " \"shift_terminal\": 0.02, \"stochastic_sampling\": false, \"time_shift_type\": \"exponential\","
            + " \"use_beta_sigmas\": false, \"use_dynamic_shifting\": true, \"use_exponential_sigmas\": false,"
            + " \"use_karras_sigmas\": false}";
    static final double DOC_TOL = 1.5e-6;

    static void assertHeadAndTail(float[] s, double[] head, double[] tail, double tol) {
        for (int i = 0; i < head.length; i++) {
            assertEquals(head[i], s[i], tol, "sigma " + i);
        }
        for (int i = 0; i < tail.length; i++) {
            int at = s.length - tail.length + i;
            assertEquals(tail[i], s[at], tol, "sigma " + at);
        }
    }

    @Test
    void fluxDevAt1024Squared() {
        FlowMatchEuler f = FlowMatchEuler.fromJson(FLUX_DEV);
        assertEquals(1.15, f.mu(4096), 1e-12);
        float[] s28 = f.sigmas(28, 4096);
        assertEquals(29, s28.length);
        assertHeadAndTail(s28, new double[] {1, 0.988409, 0.976222, 0.963394},
                new double[] {0.344849, 0.274828, 0.195455, 0.104721, 0}, DOC_TOL);
        float[] s50 = f.sigmas(50, 4096);
        assertHeadAndTail(s50, new double[] {1, 0.99358, 0.986979}, new double[] {0.167767, 0.116289, 0.06055, 0},
                DOC_TOL);
    }

    @Test
    void matchesTheBflGoldenSchedule() {
        float[] s = FlowMatchEuler.fromJson(FLUX_DEV).sigmas(50, 4096);
        int[] at = {0, 1, 2, 3, 9, 25, 48, 49, 50};
        double[] golden = {1, 0.993579514133, 0.986978595256, 0.980189528989, 0.93501143874, 0.759510916949,
            0.116288772239, 0.0605502747221, 0};
        for (int i = 0; i < at.length; i++) {
            assertEquals(golden[i], s[at[i]], 2e-7 * Math.max(1, golden[i] * 4), "t_" + at[i]);
        }
        // torch's fp32 value of t_1, quoted in the doc
        assertEquals(0.993579506874f, s[1], Math.ulp(0.99f));
    }

    @Test
    void qwenImageWithShiftTerminal() {
        FlowMatchEuler q = FlowMatchEuler.fromJson(QWEN_IMAGE);
        assertEquals(0.834325, q.mu(6889), 1e-6);
        assertHeadAndTail(q.sigmas(50, 6889), new double[] {1, 0.990988, 0.981768, 0.972332},
                new double[] {0.145148, 0.105449, 0.063783, 0.02, 0}, DOC_TOL);
        assertEquals(0.693548, q.mu(4096), 1e-6);
        float[] s = q.sigmas(50, 4096);
        assertHeadAndTail(s, new double[] {1, 0.989701, 0.979191}, new double[] {0.095499, 0.058476, 0.02, 0},
                DOC_TOL);
        for (int i = 0; i < 50; i++) {
            assertTrue(s[i] > s[i + 1], "decreasing at " + i);
        }
    }

    @Test
    void shiftTerminalNeedsTwoSteps() {
        FlowMatchEuler q = FlowMatchEuler.fromJson(QWEN_IMAGE);
        // one step: σ = [1], the stretch would divide 1 − 1 by 0 (NaN); refused with a reason instead
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> q.sigmas(1, 4096));
        assertTrue(e.getMessage().contains("at least 2 steps"), e.getMessage());
        // two steps: linspace(1, 1/2) → the last non-zero sigma is stretched to exactly the terminal value
        float[] two = q.sigmas(2, 4096);
        assertEquals(1f, two[0]);
        assertEquals(0.02, two[1], 1e-6);
        assertEquals(0f, two[2]);
    }

    @Test
    void staticShiftAndDefaults() {
        // shift 3, not dynamic, N = 2: linspace(1, 1/2, 2) = [1, 0.5] → 3σ/(1 + 2σ) = [1, 0.75]
        FlowMatchEuler shifted = FlowMatchEuler.fromJson("{\"shift\": 3.0, \"use_dynamic_shifting\": false}");
        assertArrayEquals(new float[] {1f, 0.75f, 0f}, shifted.sigmas(2, 4096));
        // diffusers defaults: shift 1, no dynamic shifting → plain linspace(1, 1/N, N)
        assertArrayEquals(new float[] {1f, 0.75f, 0.5f, 0.25f, 0f}, FlowMatchEuler.fromJson("{}").sigmas(4, 1));
        assertArrayEquals(new float[] {1f, 0f}, FlowMatchEuler.fromJson(FLUX_DEV).sigmas(1, 4096));
        assertEquals(0.25f, FlowMatchEuler.fromJson(FLUX_DEV).modelTimestep(0.25f));
    }

    @Test
    void eulerStepInFloat32() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {1f, 2f, -3f});
            NDArray v = m.create(new float[] {0.5f, -1f, 4f});
            // x + (0.75 − 1)·v
            assertArrayEquals(new float[] {0.875f, 2.25f, -4f}, FlowMatchEuler.step(x, v, 1f, 0.75f).toFloatArray());
            NDArray vb = Precision.cast(v, TensorType.BF16);
            NDArray out = FlowMatchEuler.step(x, vb, 1f, 0.75f);
            assertEquals(TensorType.F32, Precision.typeOf(out));
            assertArrayEquals(new float[] {0.875f, 2.25f, -4f}, out.toFloatArray());
            assertArrayEquals(new float[] {1f, 2f, -3f}, x.toFloatArray(), "x is not modified");
            assertThrows(IllegalArgumentException.class, () -> FlowMatchEuler.step(x, m.zeros(new ai.djl.ndarray.types.Shape(2)), 1f, 0f));
        }
    }

    @Test
    void refusesWhatItDoesNotImplement(@TempDir Path dir) throws IOException {
        assertThrows(IllegalArgumentException.class, () -> FlowMatchEuler.fromJson("{\"use_karras_sigmas\": true}"));
        assertThrows(IllegalArgumentException.class, () -> FlowMatchEuler.fromJson("{\"time_shift_type\": \"linear\"}"));
        assertThrows(IllegalArgumentException.class, () -> FlowMatchEuler.fromJson("{\"shift_terminal\": 1.5}"));
        assertThrows(IllegalArgumentException.class, () -> FlowMatchEuler.fromJson("[1, 2]"));
        assertThrows(IllegalArgumentException.class, () -> FlowMatchEuler.fromJson(FLUX_DEV).sigmas(0, 4096));
        Path bad = dir.resolve("scheduler_config.json");
        Files.writeString(bad, "{\"stochastic_sampling\": true}");
        IOException e = assertThrows(IOException.class, () -> FlowMatchEuler.read(bad));
        assertTrue(e.getMessage().contains("stochastic_sampling"), e.getMessage());
        Files.writeString(bad, FLUX_DEV);
        assertEquals(FlowMatchEuler.fromJson(FLUX_DEV).sigmas(28, 4096)[5], FlowMatchEuler.read(bad).sigmas(28, 4096)[5]);
    }

    @Test
    void refusesValuesOfTheWrongTypeOrOutOfRange(@TempDir Path dir) throws IOException {
        for (String json : new String[] {"{\"shift\": -1e308}", "{\"shift\": 1e308}", "{\"shift\": \"3\"}",
            "{\"num_train_timesteps\": 2.5}", "{\"num_train_timesteps\": 4294967298}",
            "{\"use_dynamic_shifting\": \"yes\"}", "{\"max_shift\": 1e6}", "{\"base_image_seq_len\": 0}"}) {
            assertThrows(IllegalArgumentException.class, () -> FlowMatchEuler.fromJson(json), json);
        }
        Path bad = dir.resolve("scheduler_config.json");
        Files.writeString(bad, "{\"shift\": -1e308}");
        IOException e = assertThrows(IOException.class, () -> FlowMatchEuler.read(bad));
        assertTrue(e.getMessage().startsWith(bad + ": shift"), e.getMessage());
        Files.write(bad, new byte[] {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'});
        e = assertThrows(IOException.class, () -> FlowMatchEuler.read(bad));
        assertTrue(e.getMessage().startsWith(bad.toString()) && e.getMessage().contains("UTF-8"), e.getMessage());
    }
}
