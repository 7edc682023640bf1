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

    @Test
    void transformerForwardEqualsTheInferenceTransformer() throws Exception {
        // every weight random: the initial model's zero gates and projection would make both outputs zero
        TinyFlux.write(dir.resolve("random"), ShapesModel.transformerConfig(), 9, TensorType.F32, false);
        Path model = dir.resolve("random").resolve("transformer");
        FluxConfig c = FluxConfig.read(model.resolve("config.json"));
        try (NDManager m = root.newSubManager();
                FluxTransformer inference = FluxTransformer.load(model, TensorType.F32, m);
                WeightStore store = WeightStore.open(model);
                TrainableWeights w = TrainableWeights.from(store, n -> true, m)) {
            NDArray x = gaussian(m, 1, 2, 64, 64);
            NDArray txt = gaussian(m, 2, 2, ShapesModel.TEXT_TOKENS, c.jointAttentionDim());
            NDArray pooled = gaussian(m, 3, 2, c.pooledProjectionDim());
            float[] t = {0.3f, 0.85f};
            RotaryEmbedding rope = inference.rotaryEmbedding(FluxPositions.textIds(ShapesModel.TEXT_TOKENS, m),
                    FluxPositions.imageIds(16, 16, m), m);
            NDArray expected = inference.forward(x, txt, pooled, t, null, rope, SiteKey.COND,
                    CacheSession.singleForward(m), new FlopCounter());
            NDArray tfeat = SinusoidalTimesteps.embed(new double[] {300, 850}, FluxConfig.TIMESTEP_CHANNELS, m);
            NDArray hp = m.create(new float[] {c.numLayers(), c.numSingleLayers(), c.numAttentionHeads()});
            NDArray actual = script.run("flux_forward", m, List.of(x, tfeat, txt, pooled, rope.cos(), rope.sin(), hp), w,
                    false).get(0);
            assertEquals(expected.getShape(), actual.getShape());
            double err = relativeMaxError(actual, expected);
            assertTrue(err < 1e-4, "relative max error " + err);
        }
    }

    @Test
    void bf16MatmulsStayWithinBf16RoundingOfTheFloat32Graph() throws Exception {
        TinyFlux.write(dir.resolve("random"), ShapesModel.transformerConfig(), 9, TensorType.F32, false);
        Path model = dir.resolve("random").resolve("transformer");
        FluxConfig c = FluxConfig.read(model.resolve("config.json"));
        try (NDManager m = root.newSubManager();
                WeightStore store = WeightStore.open(model);
                TrainableWeights w = TrainableWeights.from(store, n -> true, m)) {
            TrainingScript bf16 = TrainingScript.load(m, true);
            NDArray x = gaussian(m, 1, 2, 64, 64);
            NDArray txt = gaussian(m, 2, 2, ShapesModel.TEXT_TOKENS, c.jointAttentionDim());
            NDArray pooled = gaussian(m, 3, 2, c.pooledProjectionDim());
            RotaryEmbedding rope = RotaryEmbedding.of(FluxPositions.textIds(ShapesModel.TEXT_TOKENS, m)
                    .concat(FluxPositions.imageIds(16, 16, m), 0), c.axesDimsRope(), FluxConfig.ROPE_THETA, m);
            NDArray tfeat = SinusoidalTimesteps.embed(new double[] {300, 850}, FluxConfig.TIMESTEP_CHANNELS, m);
            NDArray hp = m.create(new float[] {c.numLayers(), c.numSingleLayers(), c.numAttentionHeads()});
            List<NDArray> in = List.of(x, tfeat, txt, pooled, rope.cos(), rope.sin(), hp);
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
