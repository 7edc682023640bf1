package io.hicache.chipmunk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.testing.TensorAssert;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** docs/chipmunk.md §11, by hand-checkable numbers: the attention and MLP deltas, the hash, the counts. */
class WorkedExamplesTest {
    private final NDManager manager = NDManager.newBaseManager();

    @AfterEach
    void close() {
        manager.close();
    }

    private NDArray rows(float[][] values, long... shape) {
        float[] flat = new float[values.length * values[0].length];
        for (int i = 0; i < values.length; i++) {
            System.arraycopy(values[i], 0, flat, i * values[0].length, values[0].length);
        }
        return manager.create(flat, new Shape(shape));
    }

    static ChipmunkConfig config(Map<String, String> settings) {
        return ChipmunkConfig.defaults().with(settings, key -> {
            throw new AssertionError("ignored " + key);
        });
    }

    // ------------------------------------------------------------------------------ attention

    private static final float[][] Q = {{1, 0}, {0.2f, 1}, {1, 0.5f}, {-1, 0.2f}};
    private static final float[][] K = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
    private static final float[][] V = {{1, 0}, {0, 2}, {3, 0}, {0, 4}};

    @Test
    void attentionSelectsKeysFromBlockColumnSumsAndCachesTheComplement() {
        NDArray q = rows(Q, 1, 1, 4, 2);
        NDArray k = rows(K, 1, 1, 4, 2);
        NDArray v = rows(V, 1, 1, 4, 2);
        NDArray keys = SparseAttention.selectKeys(q, k, 2, 2);
        assertArrayEquals(new long[] {0, 1, 1, 2}, keys.toLongArray(), "block 0 keeps {0,1}, block 1 {1,2}");
        NDArray dense = io.hicache.core.runtime.Kernels.of(q).sdpa(q, k, v, 1 / Math.sqrt(2));
        NDArray oCache = dense.sub(SparseAttention.keptAttention(q, k, v, keys, 2));
        TensorAssert.assertClose(rows(new float[][] {{0.7757528f, 1.3270861f}, {0.8271528f, 1.3275086f},
            {0.7546698f, 1.2172142f}, {1.4483813f, 1.2719748f}}, 1, 1, 4, 2), dense, 1e-6, 0, "O");
        TensorAssert.assertClose(rows(new float[][] {{0.1059913f, 0.6666092f}, {0.4649198f, 0.0519746f},
            {-0.0168802f, -0.2684192f}, {-0.4649198f, 0.5475088f}}, 1, 1, 4, 2), oCache, 1e-6, 0, "o_cache");
    }

    @Test
    void attentionSparseStepAddsKeptKeyAttentionToTheCache() {
        ChipmunkState state = new ChipmunkState(config(Map.of("attn.first_n_dense_layers", "0", "attn.bm", "2",
                "attn.top_keys", "0.5")), manager);
        SiteKey site = SiteKey.of(2, "img_attn");
        FlopCounter flops = new FlopCounter();
        state.beginForward(1);
        NDArray dense = state.attentionKernel().attend(site, rows(Q, 1, 1, 4, 2), rows(K, 1, 1, 4, 2),
                rows(V, 1, 1, 4, 2), null, flops);
        TensorAssert.assertClose(rows(new float[][] {{0.7757528f, 1.3270861f}, {0.8271528f, 1.3275086f},
            {0.7546698f, 1.2172142f}, {1.4483813f, 1.2719748f}}, 1, 4, 2), dense, 1e-6, 0, "step 1 is dense");
        state.beginForward(2);
        float[][] v2 = {{1, 0}, {0, 2}, {3, 0}, {0, 4.5f}};
        NDArray sparse = state.attentionKernel().attend(site,
                rows(new float[][] {{1, 0.2f}, {0.1f, 1}, {1, 0.4f}, {-1, 0.3f}}, 1, 1, 4, 2), rows(K, 1, 1, 4, 2),
                rows(v2, 1, 1, 4, 2), null, flops);
        TensorAssert.assertClose(rows(new float[][] {{0.7437583f, 1.3910752f}, {0.8109814f, 1.3598513f},
            {0.7958860f, 1.1897367f}, {1.3989132f, 1.3049535f}}, 1, 4, 2), sparse, 1e-6, 0, "step 2 is sparse");
        assertEquals("[1/cond/2/attn:D+keys, 2/cond/2/attn:S]", state.events().toString());
        // §7: step 1 dense 4·S²·D = 128 plus the kept keys for o_cache 4·S·k_a·D = 64; step 2 sparse 64
        assertEquals(128 + 64 + 64, flops.get(FlopCounter.Kind.ATTENTION_SCORES));
        state.close();
    }

    // ------------------------------------------------------------------------------ MLP

    private NDArray w1() {
        return rows(new float[][] {{1, 0}, {0, 1}, {1, -1}, {-1, -1}}, 4, 2);
    }

    private NDArray b1() {
        return manager.create(new float[] {0.1f, -0.1f, 0.2f, 0});
    }

    private NDArray w2() {
        return rows(new float[][] {{1, 0, 1, 0}, {0, 1, 0, -1}}, 2, 4);
    }

    private NDArray b2() {
        return manager.create(new float[] {0.05f, -0.05f});
    }

    private NDArray x0() {
        return rows(new float[][] {{1, 0}, {0, 1}, {1, 1}, {-1, 2}}, 1, 4, 2);
    }

    private NDArray x1() {
        return rows(new float[][] {{1.3f, 0}, {0, 0.9f}, {1.1f, 1.3f}, {-1, 2}}, 1, 4, 2);
    }

    @Test
    void mlpDenseStepFillsTheCaches() {
        SparseMlp.Dense d = SparseMlp.dense(x0(), w1(), b1(), w2(), b2(), 2);
        TensorAssert.assertClose(rows(new float[][] {{0.9505810f, -0.0460172f, 1.0617028f, -0.1588080f},
            {0.0539828f, 0.7342285f, -0.1695683f, -0.1588080f}, {0.9505810f, 0.7342285f, 0.1158514f, -0.0454023f},
            {-0.1657715f, 1.8454512f, -0.0066889f, -0.1588080f}}, 1, 4, 4), d.act(), 1e-6, 0, "act");
        TensorAssert.assertClose(rows(new float[][] {{2.0622838f, 0.0627908f}, {-0.0655856f, 0.8430365f},
            {1.1164325f, 0.7296308f}, {-0.1224604f, 1.9542592f}}, 1, 4, 2), d.out(), 1e-6, 0, "out");
        TensorAssert.assertClose(rows(new float[][] {{0.6f, 0.4f, 0.2f, -1.0f}, {0.1f, 1.4f, -1.3f, -1.5f}}, 1, 2, 4),
                d.blockMeans(), 1e-6, 0, "bm_cache");
    }

    @Test
    void mlpSparseStepRecomputesTheMostChangedNeuronsOnly() {
        NDArray out = runMlp("0");
        TensorAssert.assertClose(rows(new float[][] {{2.7362796f, 0.0627908f}, {-0.0654471f, 0.8430365f},
            {1.1164325f, 1.0309796f}, {-0.1224604f, 1.9542592f}}, 1, 4, 2), out, 1e-6, 0, "step 1 output");
        NDArray means = SparseMlp.newBlockMeans(x1(), w1(), b1(), 2);
        TensorAssert.assertClose(rows(new float[][] {{0.75f, 0.35f, 0.40f, -1.10f}, {0.15f, 1.55f, -1.40f, -1.70f}},
                1, 2, 4), means, 1e-6, 0, "bm_new");
        int[][] sets = SparseMlp.selectNeurons(means, SparseMlp.dense(x0(), w1(), b1(), w2(), b2(), 2).blockMeans(),
                2, 0, 1, 2);
        assertArrayEquals(new int[] {0, 2}, sets[0]);
        assertArrayEquals(new int[] {1, 3}, sets[1]);
    }

    @Test
    void mlpExtraNeuronsComeFromTheHash() {
        long[] block0 = {0xA81C89DF3A14CC67L, 0x38083DF0ED50FEFCL, 0x0B38B967B880E2E1L, 0xCBF5A9DC1A6A074CL};
        long[] block1 = {0x1229B168148D1BA7L, 0x5D039BD7CC3AEE27L, 0xEA8968353AB30143L, 0x5A5C7410A904D71BL};
        for (int j = 0; j < 4; j++) {
            assertEquals(block0[j], Selection.neuronHash(1, 2, 0, j), "block 0 neuron " + j);
            assertEquals(block1[j], Selection.neuronHash(1, 2, 1, j), "block 1 neuron " + j);
        }
        assertEquals(0xE220A8397B1DCDAFL, Selection.splitmix64(0));
        NDArray out = runMlp("0.5");
        TensorAssert.assertClose(rows(new float[][] {{2.7362796f, 0.0627908f}, {-0.0654471f, 0.7392397f},
            {1.2275542f, 1.0309796f}, {-0.1224604f, 1.9542592f}}, 1, 4, 2), out, 1e-6, 0, "step 1 with r_m = 1");
    }

    /** Steps 0 (dense) and 1 (sparse, refresh) of the example MLP at layer 2; returns step 1's output. */
    private NDArray runMlp(String randomKeys) {
        ChipmunkState state = new ChipmunkState(config(Map.of("mlp.bm", "2", "mlp.top_keys", "0.5",
                "mlp.random_keys", randomKeys)), manager);
        SiteKey site = SiteKey.of(2, "img_mlp");
        FlopCounter flops = new FlopCounter();
        state.beginForward(0);
        state.mlpKernel().apply(site, x0(), w1(), b1(), w2(), b2(), flops);
        state.beginForward(1);
        NDArray out = state.mlpKernel().apply(site, x1(), w1(), b1(), w2(), b2(), flops);
        assertEquals("[0/cond/2/mlp:D, 1/cond/2/mlp:S+r]", state.events().toString());
        state.close();
        return out;
    }

    // ------------------------------------------------------------------------------ counts, patchify

    @Test
    void countsRoundHalfUp() {
        assertEquals(691, Selection.keptKeys(0.15, 4608));
        assertEquals(653, Selection.keptKeys(0.15, 4352));
        assertEquals(3686, Selection.topNeurons(0.3, 12288));
        assertEquals(430, Selection.extraNeurons(0.05, 12288, 3686));
        assertEquals(3, Selection.keptKeys(0.5, 5));
    }

    @Test
    void patchifyOrdersTilesThenSubTilesThenRows() {
        int[] order = Selection.patchifyOrder(8, 8, 8, 4);
        int[] first32 = new int[32];
        System.arraycopy(order, 0, first32, 0, 32);
        assertArrayEquals(new int[] {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27, 4, 5, 6, 7, 12, 13, 14, 15,
            20, 21, 22, 23, 28, 29, 30, 31}, first32);
        // 16×8 grid: the second 8×8 tile starts at row 8
        assertEquals(64, Selection.patchifyOrder(16, 8, 8, 4)[64]);
        int[] inverse = Selection.inverse(order);
        for (int p = 0; p < order.length; p++) {
            assertEquals(p, inverse[order[p]]);
        }
    }
}
