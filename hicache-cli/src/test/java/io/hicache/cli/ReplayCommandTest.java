package io.hicache.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.SafetensorsFile;
import io.hicache.core.weights.SafetensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplayCommandTest {
    @TempDir
    Path dir;

    /** F(s) = sin(0.3 s) + 0.05 s², 15 steps, every element scaled by (1, 2). */
    Path sinQuad(TensorType type) throws IOException {
        float[] v = new float[15 * 2];
        for (int s = 0; s < 15; s++) {
            double f = Math.sin(0.3 * s) + 0.05 * s * s;
            v[2 * s] = (float) f;
            v[2 * s + 1] = (float) (2 * f);
        }
        Path p = dir.resolve("traj-" + type + ".safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            new SafetensorsWriter().add("features", m.create(v, new ai.djl.ndarray.types.Shape(15, 2)), type).write(p);
        }
        return p;
    }

    @Test
    void replayReproducesTheGoldenPredictionsAndWritesOutputs() throws IOException {
        Path traj = sinQuad(TensorType.F32);
        Path out = dir.resolve("pred.safetensors");
        Path report = dir.resolve("r.json");
        CliRun r = CliRun.of("replay", "--trajectory", traj.toString(), "--mode", "HiCache", "--interval", "4",
                "--max-order", "3", "--first-enhance", "3", "--hicache-scale", "0.5", "--output", out.toString(),
                "--report", report.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("speedup 2.50x"), r.out());
        // golden (docs/algorithm.md §8.3, HiCache σ=0.5 column) at steps 3, 8, 13
        try (SafetensorsFile f = SafetensorsFile.open(out); NDManager m = NDManager.newBaseManager()) {
            float[] p = f.tensor("predictions", m).toFloatArray();
            assertEquals(0.974203606762, p[2 * 3], 1e-5);
            assertEquals(2 * 0.974203606762, p[2 * 3 + 1], 2e-5);
            assertEquals(3.28134760916, p[2 * 8], 1e-5);
            assertEquals(6.04850322147, p[2 * 13], 1e-5);
            assertEquals(8.92842422759, p[2 * 14], 1e-5, "full step: the true feature");
            assertArrayEquals(new long[] {0, 1, 2, 6, 10, 14}, f.tensor("full_steps", m).toLongArray());
            assertArrayEquals(new long[] {15, 2}, f.info("predictions").shapeArray());
        }
        JsonNode json = new ObjectMapper().readTree(report.toFile());
        JsonNode res = json.get("result");
        assertEquals(6, res.get("num_full").asInt());
        assertEquals(2.5, res.get("speedup").asDouble(), 1e-12);
        // step 3 error: |0.9742 − 1.2333| / 1.2333
        double e3 = Math.abs(0.974203606762 - 1.23332690963) / 1.23332690963;
        assertEquals(e3, res.get("step_errors").get(3).asDouble(), 1e-5);
        assertEquals(0.0, res.get("step_errors").get(2).asDouble(), 0.0);
    }

    @Test
    void bf16TrajectoriesAreAccepted() throws IOException {
        CliRun r = CliRun.of("replay", "--trajectory", sinQuad(TensorType.BF16).toString(), "--interval", "4");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("mean forecast error"), r.out());
    }

    @Test
    void sweepRanksConfigurationsByError() throws IOException {
        // a linear trajectory: HiCache order 1 with σ = 1/√2 extrapolates it exactly, FORA does not
        float[] v = new float[20];
        for (int s = 0; s < 20; s++) {
            v[s] = 0.7f + 0.25f * s;
        }
        Path p = dir.resolve("linear.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            new SafetensorsWriter().add("features", m.create(v, new ai.djl.ndarray.types.Shape(20, 1))).write(p);
        }
        Path report = dir.resolve("sweep.json");
        CliRun r = CliRun.of("replay", "--trajectory", p.toString(), "--sweep", "--mode", "FORA,HiCache",
                "--interval", "3,5", "--max-order", "1", "--hicache-scale", "0.5,0.7071067811865476",
                "--report", report.toString());
        assertEquals(0, r.exitCode(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals(1 + 6, lines.length, "header + 2 FORA + 4 HiCache rows:\n" + r.out());
        assertTrue(lines[1].contains("HiCache") && lines[1].contains("0.707"), lines[1]);
        assertTrue(lines[lines.length - 1].contains("FORA"), r.out());
        JsonNode results = new ObjectMapper().readTree(report.toFile()).get("results");
        assertEquals(6, results.size());
        assertEquals(0.0, results.get(0).get("mean_forecast_error").asDouble(), 1e-6);
    }

    @Test
    void badInputsExitWithOneClearLine() throws IOException {
        Path good = sinQuad(TensorType.F32);
        expectUsageError("has no tensor 'feats'", "replay", "--trajectory", good.toString(), "--tensor", "feats");
        expectUsageError("add --sweep", "replay", "--trajectory", good.toString(), "--interval", "3,4");
        expectUsageError("unknown cache mode 'ToCa'", "replay", "--trajectory", good.toString(), "--mode", "ToCa");
        expectUsageError("interval must be >= 1", "replay", "--trajectory", good.toString(), "--interval", "0");
        expectUsageError("'x' is not a number", "replay", "--trajectory", good.toString(), "--interval", "x");
        expectUsageError("no such file", "replay", "--trajectory", dir.resolve("missing.safetensors").toString());

        Path oneStep = dir.resolve("one.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            new SafetensorsWriter().add("features", m.ones(new ai.djl.ndarray.types.Shape(1, 4))).write(oneStep);
        }
        expectUsageError("T >= 2", "replay", "--trajectory", oneStep.toString());

        Path ints = dir.resolve("ints.safetensors");
        ByteBuffer b = ByteBuffer.allocate(8 * 6).order(ByteOrder.LITTLE_ENDIAN);
        new SafetensorsWriter().add("features", TensorType.I64, new long[] {3, 2}, b).write(ints);
        expectUsageError("must be F32, F16 or BF16", "replay", "--trajectory", ints.toString());

        Path nan = dir.resolve("nan.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            new SafetensorsWriter().add("features", m.create(new float[] {1, 2, 3, Float.NaN, 5, 6},
                    new ai.djl.ndarray.types.Shape(3, 2))).write(nan);
        }
        expectUsageError("step 1 of the trajectory contains NaN", "replay", "--trajectory", nan.toString());

        Path garbage = dir.resolve("garbage.safetensors");
        Files.writeString(garbage, "this is not a safetensors file at all");
        expectUsageError("header length", "replay", "--trajectory", garbage.toString());
    }

    private static void expectUsageError(String part, String... args) {
        CliRun r = CliRun.of(args);
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains(part), "expected '" + part + "' in: " + r.err());
        assertEquals(1, r.err().strip().split("\n").length, "one line: " + r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    }
}
