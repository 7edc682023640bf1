package io.hicache.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.nn.SinusoidalTimesteps;
import io.hicache.core.weights.WeightStore;
import io.hicache.flux.FluxConfig;
import io.hicache.flux.FluxPositions;
import io.hicache.flux.ShapesModel;
import io.hicache.flux.vae.VaeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Training learns, and an interrupted run resumed gives exactly the uninterrupted run's weights and log. */
class ShapesTrainingTest {
    @TempDir
    Path dir;

    /** Mean loss of the first and last five of {@code steps} Adam steps on one fixed batch. */
    private static double[] firstAndLast(TrainingScript script, String method, List<NDArray> batch, TrainableWeights w,
            NDManager m, int steps, double lr) {
        double first = 0;
        double last = 0;
        for (int i = 0; i < steps; i++) {
            float loss;
            try (NDManager s = m.newSubManager()) {
                loss = ShapesTraining.lossStep(script, method, s, batch, w)[0];
            }
            w.adam(lr, 1.0);
            if (i < 5) {
                first += loss / 5;
            } else if (i >= steps - 5) {
                last += loss / 5;
            }
        }
        return new double[] {first, last};
    }

    @Test
    void transformerLossFallsOnAFixedBatch() throws Exception {
        ShapesModel.writeInitial(dir, 3);
        FluxConfig c = FluxConfig.read(dir.resolve("transformer/config.json"));
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
                WeightStore store = WeightStore.open(dir.resolve("transformer"));
                TrainableWeights w = TrainableWeights.from(store, n -> true, m)) {
            TrainingScript script = TrainingScript.load(m);
            RotaryEmbedding rope = RotaryEmbedding.of(FluxPositions.textIds(ShapesModel.TEXT_TOKENS, m)
                    .concat(FluxPositions.imageIds(16, 16, m), 0), c.axesDimsRope(), FluxConfig.ROPE_THETA, m);
            NDArray t = m.create(new float[] {0.2f, 0.5f, 0.7f, 0.9f});
            List<NDArray> batch = List.of(TrainingGraphsTest.gaussian(m, 1, 4, 64, 64),
                    TrainingGraphsTest.gaussian(m, 2, 4, 64, 64), t,
                    SinusoidalTimesteps.embed(new double[] {200, 500, 700, 900}, FluxConfig.TIMESTEP_CHANNELS, m),
                    TrainingGraphsTest.gaussian(m, 3, 4, ShapesModel.TEXT_TOKENS, c.jointAttentionDim()),
                    TrainingGraphsTest.gaussian(m, 4, 4, c.pooledProjectionDim()), rope.cos(), rope.sin(),
                    m.create(new float[] {c.numLayers(), c.numSingleLayers(), c.numAttentionHeads()}));
            double[] loss = firstAndLast(script, "flux_loss", batch, w, m, 40, 1e-3);
            // the velocity target has variance 2 (noise − x0 of two unit Gaussians): an untrained model starts near it
            assertTrue(loss[0] > 1.5, "first losses " + loss[0]);
            assertTrue(loss[1] < 0.7 * loss[0], "loss " + loss[0] + " -> " + loss[1]);
        }
    }

    @Test
    void autoencoderLossFallsOnAFixedBatch() throws Exception {
        ShapesModel.writeInitial(dir, 3);
        VaeConfig c = VaeConfig.read(dir.resolve("vae"));
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
                WeightStore store = WeightStore.open(dir.resolve("vae"));
                TrainableWeights w = TrainableWeights.from(store, n -> true, m)) {
            TrainingScript script = TrainingScript.load(m);
            List<NDArray> batch = List.of(ShapesData.images(ShapesData.scenes(new Random(5), 2), m),
                    TrainingGraphsTest.gaussian(m, 6, 2, 16, 16, 16),
                    m.create(new float[] {c.levels(), c.layersPerBlock, c.normNumGroups, 1e-4f}));
            double[] loss = firstAndLast(script, "vae_loss", batch, w, m, 30, 1e-3);
            assertTrue(loss[1] < 0.5 * loss[0], "loss " + loss[0] + " -> " + loss[1]);
        }
    }

    private static String[] tinyRun(Path out, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("--output-dir", out.toString(), "--vae-steps", "3",
                "--vae-batch", "2", "--decoder-steps", "2", "--pool", "4", "--steps", "4", "--batch", "2", "--checkpoint-every", "100"));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    @Test
    void badOptionsExitTwoAndWriteNothing() {
        Path out = dir.resolve("never");
        java.io.StringWriter err = new java.io.StringWriter();
        CommandLine cli = new CommandLine(new ShapesTraining());
        cli.setErr(new java.io.PrintWriter(err));
        assertEquals(2, cli.execute("--output-dir", out.toString(), "--pool", "8", "--batch", "32"));
        assertTrue(err.toString().startsWith("--pool (8) must hold at least one --batch (32)"), err.toString());
        assertTrue(!Files.exists(out));
    }

    @Test
    void anInterruptedRunResumesToTheSameWeightsAndLog() throws Exception {
        Path straight = dir.resolve("straight");
        Path interrupted = dir.resolve("interrupted");
        assertEquals(0, new CommandLine(new ShapesTraining()).execute(tinyRun(straight)));
        // stopped twice: once in the autoencoder phase, once in the transformer phase
        assertEquals(130, new CommandLine(new ShapesTraining()).execute(tinyRun(interrupted, "--stop-after", "2")));
        assertTrue(Files.isRegularFile(interrupted.resolve("vae.ckpt.safetensors")));
        assertEquals(130, new CommandLine(new ShapesTraining()).execute(tinyRun(interrupted, "--stop-after", "3")));
        assertEquals(0, new CommandLine(new ShapesTraining()).execute(tinyRun(interrupted)));
        for (String file : new String[] {"vae-loss.csv", "decoder-loss.csv", "transformer-loss.csv"}) {
            assertEquals(Files.readString(straight.resolve(file)), Files.readString(interrupted.resolve(file)), file);
        }
        assertEquals(5, Files.readAllLines(straight.resolve("transformer-loss.csv")).size());
        List<String> exported = new java.util.ArrayList<>(List.of("model/vae/diffusion_pytorch_model.safetensors",
                "model/vae/config.json", "model/transformer/diffusion_pytorch_model.safetensors.index.json"));
        for (int k = 1; k <= 3; k++) { // 10 MB of bf16 weights in shards of at most 4 MiB
            exported.add(String.format("model/transformer/diffusion_pytorch_model-%05d-of-00003.safetensors", k));
        }
        for (String file : exported) {
            assertArrayEquals(Files.readAllBytes(straight.resolve(file)), Files.readAllBytes(interrupted.resolve(file)),
                    file);
        }
        // the exported folder is a complete FLUX model with the shipped layout
        List<String> files = Files.readAllLines(straight.resolve("model/FILES"));
        assertTrue(files.contains("transformer/config.json") && files.contains("tokenizer_2/tokenizer.json")
                && files.contains("text_encoder/model.safetensors"), files.toString());
    }
}
