package io.hicache.chipmunk;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.nn.Layers;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.TensorType;

/**
 * Chipmunk's MLP delta as pure functions (docs/chipmunk.md §4): x [B, T, D_in], W1 [F, D_in], b1,
 * W2 [D_out, F], b2 (either bias may be null), tanh-GELU. Tokens form blocks of {@code bm} rows
 * (the last may be shorter); each (b, block) has its own neuron set, so batch elements are
 * independent. The caches are act [B, T, F], out [B, T, D_out] and block means of mid [B, nb, F].
 */
public final class SparseMlp {
    private SparseMlp() {}

    /** What a dense step computes and keeps. */
    public record Dense(NDArray out, NDArray act, NDArray blockMeans) {}

    /** What a sparse step leaves: the new caches (out is also the step's output). */
    public record Sparse(NDArray out, NDArray act) {}

    static int blocks(long tokens, int bm) {
        return (int) ((tokens + bm - 1) / bm);
    }

    /** mid = x·W1ᵀ + b1, act = gelu(mid), out = act·W2ᵀ + b2, and the block means of mid. */
    public static Dense dense(NDArray x, NDArray w1, NDArray b1, NDArray w2, NDArray b2, int bm) {
        NDArray mid = Layers.linear(x, w1, b1);
        NDArray act = Kernels.of(x).geluTanh(mid);
        return new Dense(Layers.linear(act, w2, b2), act, blockMeans(mid, bm));
    }

    /** Means over each block of {@code bm} rows of t [B, T, F]: [B, nb, F]. */
    static NDArray blockMeans(NDArray t, int bm) {
        long tokens = t.getShape().get(1);
        NDList means = new NDList();
        for (int blk = 0; blk < blocks(tokens, bm); blk++) {
            long from = (long) blk * bm;
            long to = Math.min(tokens, from + bm);
            means.add(t.get(new NDIndex(":, " + from + ":" + to + ", :")).mean(new int[] {1}));
        }
        return NDArrays.stack(means, 1);
    }

    /** The new block means mean_block(x)·W1ᵀ + b1 (the map is linear): [B, nb, F]. */
    public static NDArray newBlockMeans(NDArray x, NDArray w1, NDArray b1, int bm) {
        return Layers.linear(blockMeans(x, bm), w1, b1);
    }

    /**
     * The neuron sets of every (b, block): the {@code top} neurons whose block mean moved most
     * (|new − cached|, ties to the lower id) plus {@code extra} others by the deterministic hash of
     * (step, layer, block, neuron). Returns int[B·nb][] sorted, index b·nb + block.
     */
    public static int[][] selectNeurons(NDArray newMeans, NDArray cachedMeans, int top, int extra, int step, int layer) {
        Shape s = newMeans.getShape();
        int b = (int) s.get(0);
        int nb = (int) s.get(1);
        int f = (int) s.get(2);
        float[] score;
        try (NDArray d = Kernels.of(newMeans).cast(newMeans.sub(cachedMeans).abs(), TensorType.F32)) {
            score = d.toFloatArray();
        }
        int[][] sets = new int[b * nb][];
        for (int i = 0; i < b; i++) {
            for (int blk = 0; blk < nb; blk++) {
                int row = i * nb + blk;
                sets[row] = Selection.neuronSet(score, row * f, f, top, extra, step, layer, blk);
            }
        }
        return sets;
    }

    /** The cached block means with the selected neurons' entries replaced by the new ones. */
    public static NDArray updateBlockMeans(NDArray newMeans, NDArray cachedMeans, int[][] sets) {
        Shape s = newMeans.getShape();
        int f = (int) s.get(2);
        boolean[] take = new boolean[(int) s.size()];
        for (int row = 0; row < sets.length; row++) {
            for (int j : sets[row]) {
                take[row * f + j] = true;
            }
        }
        try (NDArray mask = newMeans.getManager().create(take, s)) {
            return NDArrays.where(mask, newMeans, cachedMeans);
        }
    }

    /**
     * One sparse step: per (b, block) with set S, a = gelu(x_blk·W1[S]ᵀ + b1[S]),
     * out_blk += (a − act_blk[:, S])·W2[:, S]ᵀ, act_blk[:, S] ← a. The inputs are not modified.
     */
    public static Sparse sparse(NDArray x, NDArray w1, NDArray b1, NDArray w2, NDArray act, NDArray out,
            int[][] sets, int bm) {
        Shape xs = x.getShape();
        long batch = xs.get(0);
        long tokens = xs.get(1);
        long din = xs.get(2);
        long dout = w2.getShape().get(0);
        int nb = blocks(tokens, bm);
        Kernels kernels = Kernels.of(x);
        NDManager m = x.getManager();
        NDList outRows = new NDList();
        NDList actRows = new NDList();
        for (int i = 0; i < batch; i++) {
            NDList outBlocks = new NDList();
            NDList actBlocks = new NDList();
            for (int blk = 0; blk < nb; blk++) {
                long from = (long) blk * bm;
                long to = Math.min(tokens, from + bm);
                String rows = i + ", " + from + ":" + to + ", :";
                NDArray outBlk = out.get(new NDIndex(rows));
                NDArray actBlk = act.get(new NDIndex(rows));
                int[] set = sets[i * nb + blk];
                if (set.length == 0) {
                    outBlocks.add(outBlk);
                    actBlocks.add(actBlk);
                    continue;
                }
                long k = set.length;
                long n = to - from;
                long[] ids = new long[set.length];
                for (int j = 0; j < set.length; j++) {
                    ids[j] = set[j];
                }
                NDArray idx = m.create(ids);
                // gathers from the weights belong to the weights' manager: move them to this call's
                NDArray w1s = w1.gather(idx.reshape(k, 1).broadcast(new Shape(k, din)), 0);
                NDArray w2s = w2.gather(idx.reshape(1, k).broadcast(new Shape(dout, k)), 1);
                m.attachAll(w1s, w2s);
                NDArray b1s = null;
                if (b1 != null) {
                    b1s = b1.gather(idx, 0);
                    b1s.attach(m);
                }
                NDArray a = kernels.geluTanh(Layers.linear(x.get(new NDIndex(rows)), w1s, b1s));
                NDArray cols = idx.reshape(1, k).broadcast(new Shape(n, k));
                NDArray delta = Layers.linear(a.sub(actBlk.gather(cols, 1)), w2s, null);
                outBlocks.add(outBlk.add(delta));
                actBlocks.add(actBlk.scatter(cols, a, 1));
            }
            outRows.add(NDArrays.concat(outBlocks, 0));
            actRows.add(NDArrays.concat(actBlocks, 0));
        }
        return new Sparse(NDArrays.stack(outRows, 0), NDArrays.stack(actRows, 0));
    }
}
