package io.hicache.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheSession;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.nn.SinusoidalTimesteps;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.WeightStore;
import io.hicache.flux.FluxConfig;
import io.hicache.flux.FluxPositions;
import io.hicache.flux.FluxTransformer;
import io.hicache.flux.ShapesModel;
import io.hicache.flux.TinyFlux;
import io.hicache.flux.vae.VaeConfig;
import io.hicache.flux.vae.VaeDecoder;
import io.hicache.flux.vae.VaeEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The training graphs compute exactly what inference computes: the TorchScript transformer and
 * autoencoder, fed the weights of the untrained Shapes model, against the project's inference
 * classes ({@link FluxTransformer}, {@link VaeEncoder}, {@link VaeDecoder}) that load the same
 * files. Both run in float32 through different op sequences, so they agree to rounding (≤ 1e-4 of
 * the output's scale), not bit for bit.
 */
class TrainingGraphsTest {
    @TempDir
    static Path dir;
    static NDManager root;
    static TrainingScript script;

    @BeforeAll
    static void setUp() throws Exception {
        ShapesModel.writeInitial(dir, 7);
        root = NDManager.newBaseManager(Device.cpu());
        script = TrainingScript.load(root);
    }

    @AfterAll
    static void tearDown() {
        root.close();
    }

    static NDArray gaussian(NDManager m, long seed, long... shape) {
        Random r = new Random(seed);
        float[] v = new float[Math.toIntExact(new Shape(shape).size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return m.create(v, new Shape(shape));
    }

    static double relativeMaxError(NDArray actual, NDArray expected) {
        float[] a = actual.toFloatArray();
        float[] e = expected.toFloatArray();
        assertEquals(e.length, a.length);
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - e[i]));
            scale = Math.max(scale, Math.abs(e[i]));
        }
        return diff / scale;
    }

    /**
     * A transformer of the Shapes configuration with every weight seeded random, so that the
     * comparisons do not depend on how training initialises it (zero gates would make both outputs zero).
     */
    static Path randomTransformer() throws Exception {
        Path model = dir.resolve("random");
        if (!Files.isDirectory(model)) {
            TinyFlux.write(model, ShapesModel.transformerConfig(), 9, TensorType.F32, false);
        }
        return model.resolve("transformer");
    }

    /** The same seeded inputs, for the inference transformer and for the graph's flux_forward. */
    record FluxInputs(NDArray x, NDArray txt, NDArray pooled, RotaryEmbedding rope, NDArray tfeat, NDArray hp) {
        static final float[] T = {0.3f, 0.85f};

        static FluxInputs of(FluxConfig c, NDManager m) {
            return new FluxInputs(gaussian(m, 1, 2, 64, 64), gaussian(m, 2, 2, ShapesModel.TEXT_TOKENS, c.jointAttentionDim()),
                    gaussian(m, 3, 2, c.pooledProjectionDim()),
                    RotaryEmbedding.of(FluxPositions.textIds(ShapesModel.TEXT_TOKENS, m)
                            .concat(FluxPositions.imageIds(16, 16, m), 0), c.axesDimsRope(), FluxConfig.ROPE_THETA, m),
                    SinusoidalTimesteps.embed(new double[] {300, 850}, FluxConfig.TIMESTEP_CHANNELS, m),
                    m.create(new float[] {c.numLayers(), c.numSingleLayers(), c.numAttentionHeads()}));
        }

        List<NDArray> graphArguments() {
            return List.of(x, tfeat, txt, pooled, rope.cos(), rope.sin(), hp);
        }
    }

    @Test
    void transformerForwardEqualsTheInferenceTransformer() throws Exception {
        Path model = randomTransformer();
        FluxConfig c = FluxConfig.read(model.resolve("config.json"));
        try (NDManager m = root.newSubManager();
                FluxTransformer inference = FluxTransformer.load(model, TensorType.F32, m);
                WeightStore store = WeightStore.open(model);
                TrainableWeights w = TrainableWeights.from(store, n -> true, m)) {
            FluxInputs in = FluxInputs.of(c, m);
            NDArray expected = inference.forward(in.x(), in.txt(), in.pooled(), FluxInputs.T, null, in.rope(), SiteKey.COND,
                    CacheSession.singleForward(m), new FlopCounter());
            NDArray actual = script.run("flux_forward", m, in.graphArguments(), w, false).get(0);
            assertEquals(expected.getShape(), actual.getShape());
            double err = relativeMaxError(actual, expected);
            assertTrue(err < 1e-4, "relative max error " + err);
        }
    }

    @Test
    void bf16MatmulsStayWithinBf16RoundingOfTheFloat32Graph() throws Exception {
        Path model = randomTransformer();
        FluxConfig c = FluxConfig.read(model.resolve("config.json"));
        try (NDManager m = root.newSubManager();
                WeightStore store = WeightStore.open(model);
                TrainableWeights w = TrainableWeights.from(store, n -> true, m)) {
            TrainingScript bf16 = TrainingScript.load(m, true);
            List<NDArray> in = FluxInputs.of(c, m).graphArguments();
            NDArray f32 = script.run("flux_forward", m, in, w, false).get(0);
            NDArray low = bf16.run("flux_forward", m, in, w, false).get(0);
            double err = relativeMaxError(low, f32);
            System.out.printf("flux_forward with bf16 matmuls vs float32: relative max error %.3g%n", err);
            // bf16 keeps 8 significant bits (relative rounding 2^-9 = 0.2%) per operand; through
            // 6 blocks of residual sums it stays within a few percent of the output's scale
            assertTrue(err < 3e-2, "bf16 relative max error " + err);
            assertTrue(err > 1e-4, "bf16 graph computes exactly the float32 result (" + err + "): the switch did nothing");
        }
    }

    @Test
    void autoencoderEqualsTheInferenceEncoderAndDecoder() throws Exception {
        Path vae = dir.resolve("vae");
        VaeConfig c = VaeConfig.read(vae);
        try (NDManager m = root.newSubManager();
                VaeEncoder encoder = VaeEncoder.load(vae, TensorType.F32, m);
                VaeDecoder decoder = VaeDecoder.load(vae, TensorType.F32, m);
                WeightStore store = WeightStore.open(vae);
                TrainableWeights w = TrainableWeights.from(store, n -> true, m)) {
            NDArray hp = m.create(new float[] {c.levels(), c.layersPerBlock, c.normNumGroups, 0});
            NDArray images = gaussian(m, 4, 2, 3, 128, 128).clip(-1, 1);
            // the inference encoder returns (mean − shift)·scale; this model's factors are 1 and 0
            assertEquals(1.0, c.scalingFactor);
            assertEquals(0.0, c.shiftFactor);
            NDArray mean = script.run("vae_mean", m, List.of(images, hp), w, false).get(0);
            double encErr = relativeMaxError(mean, encoder.encode(images));
            assertTrue(encErr < 1e-4, "encoder relative max error " + encErr);
            NDArray latents = gaussian(m, 5, 2, 16, 16, 16);
            NDArray decoded = script.run("vae_decode", m, List.of(latents, hp), w, false).get(0).clip(-1, 1);
            double decErr = relativeMaxError(decoded, decoder.decode(latents));
            assertTrue(decErr < 1e-4, "decoder relative max error " + decErr);
        }
    }
}
