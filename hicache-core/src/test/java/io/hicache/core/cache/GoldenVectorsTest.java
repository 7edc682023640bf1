package io.hicache.core.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.runtime.TensorType;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Reproduces every vector of the shared golden file (computed in double from the upstream
 * algorithm): coefficients, schedules, replays of whole trajectories in every mode, and the
 * analytic σ. Tensors run in float64 (1e-9) and in float32 with a spread of element values (1e-5).
 */
class GoldenVectorsTest {
    static JsonNode golden;
    NDManager m;

    /** The golden vectors (a copy of the shared reference file, kept with the tests). */
    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = GoldenVectorsTest.class.getResourceAsStream("/golden/forecaster.json")) {
            golden = new ObjectMapper().readTree(in);
        }
    }

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    @Test
    void coefficients() {
        int n = 0;
        for (JsonNode c : golden.get("coefficients")) {
            double sigma = c.get("sigma").asDouble();
            int k = c.get("k").asInt();
            double x = c.get("x").asDouble();
            assertEquals(c.get("taylor").asDouble(), Basis.taylor(k).coefficients(k + 1, x)[k], 1e-9, c.toString());
            assertEquals(c.get("hicache").asDouble(), Basis.hermite(sigma, k).coefficients(k + 1, x)[k], 1e-9,
                    c.toString());
            assertEquals(c.get("taylor_scaled").asDouble(), Basis.scaledTaylor(sigma, k).coefficients(k + 1, x)[k],
                    1e-9, c.toString());
            n++;
        }
        assertEquals(96, n);
    }

    @Test
    void schedules() {
        for (JsonNode s : golden.get("schedules")) {
            StepSchedule schedule = new StepSchedule(CacheMode.HICACHE, s.get("interval").asInt(),
                    s.get("first_enhance").asInt());
            assertEquals(ints(s.get("full_steps")), schedule.fullSteps(s.get("steps").asInt()), s.toString());
        }
    }

    @Test
    void analyticSigma() {
        for (JsonNode a : golden.get("analytic_sigma")) {
            CacheConfig c = CacheConfig.builder(CacheMode.HICACHE_ANALYTIC).analyticAlpha(a.get("alpha").asDouble())
                    .analyticSigmaMax(a.get("sigma_max").asDouble()).analyticEps(a.get("eps").asDouble()).build();
            AnalyticSigma sigma = new AnalyticSigma(c);
            sigma.observe(Replay.SITE, a.get("q").asDouble());
            assertEquals(a.get("sigma").asDouble(), sigma.sigma(Replay.SITE), 1e-12, a.toString());
        }
    }

    @Test
    void replaysInFloat64() {
        replays(TensorType.F64, new Shape(1), 1e-9);
    }

    @Test
    void replaysInFloat32Tensors() {
        replays(TensorType.F32, new Shape(3, 4), 1e-5);
    }

    /**
     * Each element of a step's tensor is F(s)·w_e with a fixed weight w_e, so every element must
     * reproduce the golden prediction scaled by its weight (the algorithm is linear per element).
     */
    private void replays(TensorType type, Shape shape, double tol) {
        int checked = 0;
        for (JsonNode r : golden.get("replays")) {
            double[] features = doubles(r.get("features"));
            int steps = features.length;
            float[] weights = new float[(int) shape.size()];
            for (int i = 0; i < weights.length; i++) {
                weights[i] = 1f - 0.25f * i;
            }
            NDArray w = m.create(weights, shape).toType(DataType.FLOAT64, false);
            for (Iterator<Map.Entry<String, JsonNode>> it = r.get("predictions").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                CacheConfig config = CacheConfig.of(CacheMode.parse(e.getKey()))
                        .withInterval(r.get("interval").asInt())
                        .withMaxOrder(r.get("max_order").asInt())
                        .withFirstEnhance(r.get("first_enhance").asInt())
                        .withHicacheScale(r.get("hicache_scale").asDouble());
                double[] expected = doubles(e.getValue());
                List<double[]> got = new ArrayList<>();
                Replay.Result result = Replay.run(config, steps,
                        (t, mm) -> w.mul(features[t]).toType(DataType.FLOAT64, false), type, m,
                        p -> got.add(p.toType(DataType.FLOAT64, false).toDoubleArray()));
                for (int t = 0; t < steps; t++) {
                    for (int el = 0; el < weights.length; el++) {
                        double want = expected[t] * weights[el];
                        assertEquals(want, got.get(t)[el], tol * Math.max(1, Math.abs(want)),
                                r.get("trajectory") + " " + config + " step " + t + " element " + el);
                    }
                }
                if (!e.getKey().equals("original")) {
                    assertEquals(ints(r.get("full_steps")), result.fullSteps(), config.toString());
                }
                checked++;
            }
        }
        assertEquals(30, checked, "6 trajectories × 5 modes");
    }

    static double[] doubles(JsonNode a) {
        double[] d = new double[a.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = a.get(i).asDouble();
        }
        return d;
    }

    static List<Integer> ints(JsonNode a) {
        List<Integer> l = new ArrayList<>();
        a.forEach(v -> l.add(v.asInt()));
        return l;
    }
}
