package io.hicache.chipmunk;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.metrics.FlopCounter.Kind;
import io.hicache.core.nn.AttentionKernel;
import io.hicache.core.nn.FeedForward;
import io.hicache.core.nn.TensorBytes;
import io.hicache.core.runtime.Kernels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;

/**
 * All Chipmunk state of one generation (docs/chipmunk.md §2–§4, §6), keyed explicitly by
 * (branch, layer, module): per attention the key sets and o_cache, per sparsified MLP the
 * activation, output and block-mean caches and the neuron sets, and for each the last step it ran
 * dense and the last step it ran at all. The step of every decision is the sampler's, given to
 * {@link #beginForward}; the layer is the block's. Nothing is derived from counting calls, so
 * steps that step caching skips (no block runs) touch nothing here.
 *
 * <p>Missing state never fails: a call scheduled sparse without its caches runs dense and builds
 * them. Returned tensors are fresh (the caller's manager); stored ones live in this state's.
 */
public final class ChipmunkState implements AutoCloseable {
    static final String ATTN = "attn";
    static final String MLP = "mlp";

    /** The state's key: guidance branch, global layer index, module ({@code attn} or {@code mlp}). */
    public record Key(String branch, int layer, String module) {}

    /**
     * One module call's decision: {@code D} dense, {@code D+keys} dense with key selection,
     * {@code D+o} dense refreshing o_cache with the kept keys, {@code S} sparse, {@code S+r} sparse
     * refreshing the neuron sets.
     */
    public record Event(int step, Key key, String decision) {
        @Override
        public String toString() {
            return step + "/" + key.branch() + "/" + key.layer() + "/" + key.module() + ":" + decision;
        }
    }

    private static final class AttnSlot {
        NDArray keys;
        NDArray oCache;
        int lastDense = -1;
    }

    private static final class MlpSlot {
        NDArray act;
        NDArray out;
        NDArray blockMeans;
        int[][] sets;
        int lastDense = -1;
        int lastRun = -1;
    }

    private final ChipmunkConfig config;
    private final NDManager manager;
    private final Map<Key, AttnSlot> attn = new HashMap<>();
    private final Map<Key, MlpSlot> mlp = new HashMap<>();
    private final List<Event> events = new ArrayList<>();
    private int step = -1;
    private long attnExecuted;
    private long attnDense;
    private long mlpExecuted;
    private long mlpDense;
    private long bytes;
    private long peakBytes;

    /** A fresh state whose caches live under {@code parent}. */
    public ChipmunkState(ChipmunkConfig config, NDManager parent) {
        this.config = config;
        this.manager = parent.newSubManager();
    }

    public ChipmunkConfig config() {
        return config;
    }

    /** The sampler's step of the forwards that follow. */
    public void beginForward(int samplerStep) {
        if (samplerStep < step) {
            throw new IllegalStateException("steps go forward: step " + samplerStep + " after " + step);
        }
        step = samplerStep;
    }

    /** This state's attention core, for {@code FluxTransformer#withKernels}. */
    public AttentionKernel attentionKernel() {
        return this::attend;
    }

    /** This state's MLP, for the image MLPs of the double blocks and the single blocks' MLP. */
    public FeedForward.Kernel mlpKernel() {
        return this::feedForward;
    }

    /** Every decision so far, in call order. */
    public List<Event> events() {
        return Collections.unmodifiableList(events);
    }

    /** Attention-core FLOPs executed / those of dense attention in the same calls. */
    public double attentionFraction() {
        return attnDense == 0 ? 1 : (double) attnExecuted / attnDense;
    }

    /** Sparsifiable-MLP FLOPs executed / dense in the same calls. */
    public double mlpFraction() {
        return mlpDense == 0 ? 1 : (double) mlpExecuted / mlpDense;
    }

    /**
     * The steps that ran Chipmunk calls. Every such step runs all of them, so the dense cost of a
     * generation of n steps is (dense cost so far) · n / this.
     */
    public int stepsRun() {
        return (int) events.stream().mapToInt(Event::step).distinct().count();
    }

    /** FLOPs the Chipmunk calls saved against running those calls dense (negative when they cost more). */
    public long savedFlops() {
        return attnDense - attnExecuted + mlpDense - mlpExecuted;
    }

    /** Bytes of caches held now. */
    public long bytesHeld() {
        return bytes;
    }

    /** The most bytes of caches held at once. */
    public long peakBytesHeld() {
        return peakBytes;
    }

    // --------------------------------------------------------------------------------- attention

    NDArray attend(SiteKey site, NDArray q, NDArray k, NDArray v, NDArray mask, FlopCounter flops) {
        requireStep();
        Key key = new Key(site.branch(), site.layer(), ATTN);
        long b = q.getShape().get(0);
        long heads = q.getShape().get(1);
        long len = q.getShape().get(2);
        long dh = q.getShape().get(3);
        long dense = 4 * b * heads * len * k.getShape().get(2) * dh;
        attnDense += dense;
        if (!config.attnEnabled() || site.layer() < config.attnFirstNDenseLayers() || mask != null
                || k.getShape().get(2) != len) {
            attnExecuted += dense;
            events.add(new Event(step, key, "D"));
            return AttentionKernel.DENSE.attend(site, q, k, v, mask, flops);
        }
        AttnSlot slot = attn.computeIfAbsent(key, x -> new AttnSlot());
        int n = step;
        boolean due = config.catchUp() ? anyIn(slot.lastDense + 1, n, config::attnScheduledDense)
                : config.attnScheduledDense(n);
        int bm = config.attnBm();
        List<NDArray> stale = new ArrayList<>();
        NDManager caller = q.getManager();
        NDArray o;
        long executed;
        String decision;
        // temporaries (also those derived from the stored caches) die with the scope
        try (NDManager scope = caller.newSubManager()) {
            tempAttach(scope, slot.keys, slot.oCache);
            if (due || slot.keys == null || slot.oCache == null) {
                boolean select = n >= 1 && (slot.keys == null || config.attnRecomputeMask());
                o = Kernels.of(q).sdpa(q, k, v, 1 / Math.sqrt(dh));
                executed = dense;
                decision = "D";
                if (select) {
                    stale.add(slot.keys);
                    slot.keys = keep(SparseAttention.selectKeys(q, k, bm,
                            Selection.keptKeys(config.attnTopKeys(), (int) len)));
                    decision = "D+keys";
                } else if (slot.keys != null) {
                    decision = "D+o";
                }
                if (slot.keys != null) {
                    NDArray kept = SparseAttention.keptAttention(q, k, v, slot.keys, bm);
                    stale.add(slot.oCache);
                    slot.oCache = keep(o.sub(kept));
                    executed += 4 * b * heads * len * slot.keys.getShape().get(3) * dh;
                }
                slot.lastDense = n;
            } else {
                executed = 4 * b * heads * len * slot.keys.getShape().get(3) * dh;
                o = slot.oCache.add(SparseAttention.keptAttention(q, k, v, slot.keys, bm));
                decision = "S";
            }
            o = o.transpose(0, 2, 1, 3).reshape(b, len, heads * dh);
            o.attach(caller);
        }
        stale.forEach(this::free);
        attnExecuted += executed;
        flops.add(Kind.ATTENTION_SCORES, executed);
        events.add(new Event(n, key, decision));
        return o;
    }

    // --------------------------------------------------------------------------------- MLP

    NDArray feedForward(SiteKey site, NDArray x, NDArray w1, NDArray b1, NDArray w2, NDArray b2, FlopCounter flops) {
        requireStep();
        Key key = new Key(site.branch(), site.layer(), MLP);
        long batch = x.getShape().get(0);
        long tokens = x.getShape().get(1);
        long din = w1.getShape().get(1);
        int f = (int) w1.getShape().get(0);
        long dout = w2.getShape().get(0);
        long dense = 2 * batch * tokens * f * (din + dout);
        mlpDense += dense;
        if (!config.mlpEnabled() || site.layer() < config.mlpFirstNDenseLayers() || x.getShape().dimension() != 3) {
            mlpExecuted += dense;
            events.add(new Event(step, key, "D"));
            return FeedForward.Kernel.DENSE.apply(site, x, w1, b1, w2, b2, flops);
        }
        MlpSlot slot = mlp.computeIfAbsent(key, k -> new MlpSlot());
        int n = step;
        int bm = config.mlpBm();
        int c = config.mlpBlockMaskCache();
        int blocks = SparseMlp.blocks(tokens, bm);
        boolean due = config.catchUp() ? anyIn(slot.lastDense + 1, n, config::mlpScheduledDense)
                : config.mlpScheduledDense(n);
        List<NDArray> stale = new ArrayList<>();
        NDManager caller = x.getManager();
        NDArray result;
        long executed;
        String decision;
        try (NDManager scope = caller.newSubManager()) {
            tempAttach(scope, slot.act, slot.out, slot.blockMeans);
            if (due || slot.act == null) {
                SparseMlp.Dense d = SparseMlp.dense(x, w1, b1, w2, b2, bm);
                stale.addAll(Arrays.asList(slot.act, slot.out, slot.blockMeans));
                slot.act = keep(d.act());
                slot.out = keep(d.out().duplicate());
                slot.blockMeans = keep(d.blockMeans());
                slot.lastDense = n;
                executed = dense;
                decision = "D";
                result = d.out();
            } else {
                // the literal rule: refresh unless (n % C != 0 and sets exist and n >= 10); catch-up
                // also refreshes when a step where that was due was skipped
                boolean refresh = slot.sets == null || n % c == 0 || n < 10
                        || config.catchUp() && anyIn(slot.lastRun + 1, n - 1, m -> m % c == 0 || m < 10);
                executed = 0;
                if (refresh) {
                    int top = Selection.topNeurons(config.mlpTopKeys(), f);
                    int extra = Selection.extraNeurons(config.mlpRandomKeys(), f, top);
                    NDArray means = SparseMlp.newBlockMeans(x, w1, b1, bm);
                    slot.sets = SparseMlp.selectNeurons(means, slot.blockMeans, top, extra, n, site.layer());
                    stale.add(slot.blockMeans);
                    slot.blockMeans = keep(SparseMlp.updateBlockMeans(means, slot.blockMeans, slot.sets));
                    executed += 2 * batch * blocks * din * f;
                }
                SparseMlp.Sparse s = SparseMlp.sparse(x, w1, b1, w2, slot.act, slot.out, slot.sets, bm);
                for (int i = 0; i < batch; i++) {
                    for (int blk = 0; blk < blocks; blk++) {
                        long rows = Math.min(tokens, (long) (blk + 1) * bm) - (long) blk * bm;
                        executed += 2 * rows * slot.sets[i * blocks + blk].length * (din + dout);
                    }
                }
                result = s.out().duplicate();
                stale.addAll(Arrays.asList(slot.act, slot.out));
                slot.act = keep(s.act());
                slot.out = keep(s.out());
                decision = refresh ? "S+r" : "S";
            }
            result.attach(caller);
        }
        stale.forEach(this::free);
        slot.lastRun = n;
        mlpExecuted += executed;
        flops.add(Kind.MLP, executed);
        events.add(new Event(n, key, decision));
        return result;
    }

    // --------------------------------------------------------------------------------- bookkeeping

    /** Whether some step m in [from, to] satisfies {@code scheduled}. */
    private static boolean anyIn(int from, int to, IntPredicate scheduled) {
        for (int m = Math.max(0, from); m <= to; m++) {
            if (scheduled.test(m)) {
                return true;
            }
        }
        return false;
    }

    /** Moves {@code t} into this state's manager and counts its bytes. */
    private NDArray keep(NDArray t) {
        t.attach(manager);
        bytes += TensorBytes.of(t);
        peakBytes = Math.max(peakBytes, bytes);
        return t;
    }

    /** Frees a replaced cache (null: nothing was there). */
    private void free(NDArray old) {
        if (old != null) {
            bytes -= TensorBytes.of(old);
            old.close();
        }
    }

    private static void tempAttach(NDManager scope, NDArray... stored) {
        for (NDArray t : stored) {
            if (t != null) {
                scope.tempAttachAll(t);
            }
        }
    }

    private void requireStep() {
        if (step < 0) {
            throw new IllegalStateException("beginForward(step) must come before the first Chipmunk call");
        }
    }

    /** Frees every cache. */
    @Override
    public void close() {
        attn.clear();
        mlp.clear();
        bytes = 0;
        manager.close();
    }
}
