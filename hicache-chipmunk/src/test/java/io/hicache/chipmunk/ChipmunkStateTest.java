package io.hicache.chipmunk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.nn.AttentionKernel;
import io.hicache.core.nn.FeedForward;
import io.hicache.core.pipeline.InvalidSettingException;
import io.hicache.core.sampling.SeededNoise;
import io.hicache.core.testing.TensorAssert;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The schedules, the fallbacks and "every key and neuron kept" on random tensors. */
class ChipmunkStateTest {
    private final NDManager manager = NDManager.newBaseManager();

    @AfterEach
    void close() {
        manager.close();
    }

    private NDArray noise(long seed, long... shape) {
        return SeededNoise.gaussian(seed, new Shape(shape), manager);
    }

    private static ChipmunkConfig config(Map<String, String> settings) {
        return WorkedExamplesTest.config(settings);
    }

    @Test
    void keepingEveryKeyAndNeuronMakesSparseStepsEqualDenseOnes() {
        ChipmunkState state = new ChipmunkState(config(Map.of("attn.top_keys", "1", "mlp.top_keys", "1",
                "attn.bm", "5", "mlp.bm", "3", "attn.first_n_dense_layers", "0", "mlp.first_n_dense_layers", "0")),
                manager);
        SiteKey site = SiteKey.of(0, "total");
        FlopCounter flops = new FlopCounter();
        NDArray w1 = noise(1, 24, 8);
        NDArray b1 = noise(2, 24);
        NDArray w2 = noise(3, 8, 24);
        for (int n = 0; n < 5; n++) {
            state.beginForward(n);
            // two batch elements, 2 heads, 13 tokens (the last query and token blocks are short)
            NDArray q = noise(10 + n, 2, 2, 13, 4);
            NDArray k = noise(20 + n, 2, 2, 13, 4);
            NDArray v = noise(30 + n, 2, 2, 13, 4);
            TensorAssert.assertClose(AttentionKernel.DENSE.attend(site, q, k, v, null, new FlopCounter()),
                    state.attentionKernel().attend(site, q, k, v, null, flops), 2e-6, 1e-5, "attention, step " + n);
            NDArray x = noise(40 + n, 2, 13, 8);
            TensorAssert.assertClose(FeedForward.Kernel.DENSE.apply(site, x, w1, b1, w2, null, new FlopCounter()),
                    state.mlpKernel().apply(site, x, w1, b1, w2, null, flops), 2e-5, 1e-5, "MLP, step " + n);
        }
        assertEquals("[0/cond/0/attn:D, 0/cond/0/mlp:D, 1/cond/0/attn:D+keys, 1/cond/0/mlp:S+r, 2/cond/0/attn:S, "
                + "2/cond/0/mlp:S+r, 3/cond/0/attn:S, 3/cond/0/mlp:S+r, 4/cond/0/attn:S, 4/cond/0/mlp:S+r]",
                state.events().toString());
        state.close();
    }

    @Test
    void bfloat16RunsTheSamePathsCloseToFloat32() {
        ChipmunkConfig c = config(Map.of("attn.bm", "5", "mlp.bm", "3", "attn.first_n_dense_layers", "0",
                "mlp.first_n_dense_layers", "0", "attn.top_keys", "0.5"));
        ChipmunkState f32 = new ChipmunkState(c, manager);
        ChipmunkState bf16 = new ChipmunkState(c, manager);
        SiteKey site = SiteKey.of(0, "total");
        NDArray w1 = noise(1, 24, 8);
        NDArray w2 = noise(3, 8, 24);
        for (int n = 0; n < 3; n++) {
            f32.beginForward(n);
            bf16.beginForward(n);
            NDArray q = noise(10 + n, 1, 2, 13, 4);
            NDArray x = noise(40 + n, 1, 13, 8);
            NDArray a = f32.attentionKernel().attend(site, q, q, q, null, new FlopCounter());
            NDArray qb = bf16(q);
            NDArray ab = bf16.attentionKernel().attend(site, qb, qb, qb, null, new FlopCounter());
            TensorAssert.assertClose(a, ab, 0.05, 0.05, "attention, step " + n);
            NDArray m = f32.mlpKernel().apply(site, x, w1, null, w2, null, new FlopCounter());
            NDArray mb = bf16.mlpKernel().apply(site, bf16(x), bf16(w1), null, bf16(w2), null, new FlopCounter());
            TensorAssert.assertClose(m, mb, 0.1, 0.05, "MLP, step " + n);
        }
        assertEquals(f32.events(), bf16.events());
        f32.close();
        bf16.close();
    }

    private static NDArray bf16(NDArray x) {
        return io.hicache.core.runtime.Kernels.of(x).cast(x, io.hicache.core.runtime.TensorType.BF16);
    }

    @Test
    void missingStateRunsDenseAndBuildsIt() {
        ChipmunkState state = new ChipmunkState(ChipmunkConfig.defaults(), manager);
        SiteKey attn = SiteKey.of(5, "img_attn");
        SiteKey mlp = SiteKey.of(5, "img_mlp");
        // a generation whose first full step is 4 (step caching skipped 1-3): sparse-scheduled, no state
        for (int n : new int[] {4, 5}) {
            state.beginForward(n);
            NDArray q = noise(n, 1, 2, 12, 4);
            state.attentionKernel().attend(attn, q, q, q, null, new FlopCounter());
            state.mlpKernel().apply(mlp, noise(9 + n, 1, 12, 8), noise(1, 24, 8), noise(2, 24), noise(3, 8, 24),
                    null, new FlopCounter());
        }
        assertEquals("[4/cond/5/attn:D+keys, 4/cond/5/mlp:D, 5/cond/5/attn:S, 5/cond/5/mlp:S+r]",
                state.events().toString());
        assertTrue(state.bytesHeld() > 0);
        state.close();
    }

    @Test
    void stepZeroSelectsNoKeysAndFirstLayersStayDense() {
        ChipmunkState state = new ChipmunkState(ChipmunkConfig.defaults(), manager);
        state.beginForward(0);
        NDArray q = noise(1, 1, 2, 12, 4);
        state.attentionKernel().attend(SiteKey.of(2, "img_attn"), q, q, q, null, new FlopCounter());
        state.beginForward(1);
        state.attentionKernel().attend(SiteKey.of(1, "img_attn"), q, q, q, null, new FlopCounter());
        state.attentionKernel().attend(SiteKey.of(2, "img_attn"), q, q, q, null, new FlopCounter());
        assertEquals("[0/cond/2/attn:D, 1/cond/1/attn:D, 1/cond/2/attn:D+keys]", state.events().toString());
        assertTrue(state.savedFlops() < 0, "no sparse step yet, and filling o_cache costs extra");
        state.close();
    }

    /** The decisions of one module that runs only at {@code steps}, as the table of §6 writes them. */
    private List<String> decisions(boolean catchUp, int[] steps) {
        ChipmunkState state = new ChipmunkState(config(Map.of("catch_up", String.valueOf(catchUp))), manager);
        NDArray w1 = noise(1, 24, 8);
        NDArray b1 = noise(2, 24);
        NDArray w2 = noise(3, 8, 24);
        for (int n : steps) {
            state.beginForward(n);
            NDArray q = noise(n, 1, 1, 6, 4);
            state.attentionKernel().attend(SiteKey.of(2, "img_attn"), q, q, q, null, new FlopCounter());
            state.mlpKernel().apply(SiteKey.of(2, "img_mlp"), noise(100 + n, 1, 6, 8), w1, b1, w2, null,
                    new FlopCounter());
        }
        List<String> out = new ArrayList<>();
        List<ChipmunkState.Event> events = state.events();
        for (int i = 0; i < events.size(); i += 2) {
            out.add(events.get(i).decision().replace("D+o", "D") + "/" + events.get(i + 1).decision());
        }
        state.close();
        return out;
    }

    @Test
    void underStepCachingTheDecisionsFollowTheSpecTable() {
        int[] full = {0, 1, 2, 9, 16, 23, 30, 37, 44}; // HiCache N = 7, first-enhance 3, 50 steps
        assertEquals(List.of("D/D", "D+keys/S+r", "S/S+r", "S/S+r", "D/D", "D/D", "D/D", "S/S+r", "D/D"),
                decisions(true, full));
        assertEquals(List.of("D/D", "D+keys/S+r", "S/S+r", "S/S+r", "S/S+r", "S/S", "D/D", "S/S", "S/S+r"),
                decisions(false, full));
    }

    @Test
    void everyStepFollowsTheDefaultScheduleWithBothRules() {
        int[] every = new int[22];
        for (int n = 0; n < every.length; n++) {
            every[n] = n;
        }
        List<String> expected = new ArrayList<>();
        for (int n = 0; n < every.length; n++) {
            expected.add(n == 0 ? "D/D" : n == 1 ? "D+keys/S+r" : n % 10 == 0 ? "D/D" : n < 10 || n % 2 == 0 ? "S/S+r"
                    : "S/S");
        }
        assertEquals(expected, decisions(true, every));
        assertEquals(expected, decisions(false, every));
    }

    @Test
    void settingsAreRangeCheckedByName() {
        InvalidSettingException e = assertThrows(InvalidSettingException.class,
                () -> config(Map.of("attn.top_keys", "0")));
        assertEquals("attn.top_keys", e.key());
        assertEquals("attn.top_keys must be in (0, 1], got 0.0", e.getMessage());
        assertEquals("mlp.random_keys", assertThrows(InvalidSettingException.class,
                () -> config(Map.of("mlp.random_keys", "1.5"))).key());
        assertEquals("patchify.chunk_size_1", assertThrows(InvalidSettingException.class,
                () -> config(Map.of("patchify.chunk_size_1", "6"))).key());
        assertEquals("attn.is_enabled", assertThrows(InvalidSettingException.class,
                () -> config(Map.of("attn.is_enabled", "yes"))).key());
        List<String> ignored = new ArrayList<>();
        ChipmunkConfig c = ChipmunkConfig.defaults().with(Map.of("attn.full_step_schedule", "0, 3,7", "mlp.mbm", "64",
                "offloading.global_disable_offloading", "true"), ignored::add);
        assertEquals("0,3,7", c.asSettings().get("attn.full_step_schedule"));
        assertEquals(64, c.mlpBm());
        assertEquals(List.of("offloading.global_disable_offloading"), ignored);
        assertTrue(c.attnScheduledDense(3) && !c.attnScheduledDense(1), "the schedule replaces the warm-up");
    }
}
