package io.hicache.chipmunk;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;

/**
 * Chipmunk's attention delta as pure functions of q, k, v [B, H, S, Dh] (docs/chipmunk.md §3, §10).
 * Query blocks are {@code bm} consecutive rows of the joint sequence (the last may be shorter);
 * every (b, h, block) has its own key set, so batch elements are independent.
 */
public final class SparseAttention {
    private SparseAttention() {}

    /** Number of query blocks of {@code length} rows. */
    static int blocks(long length, int bm) {
        return (int) ((length + bm - 1) / bm);
    }

    /**
     * The {@code kept} keys with the largest softmax column sums per query block (the current step's
     * exact softmax, rows of a block summed; ties to the lower index), as int64 [B, H, G, kept]
     * with increasing indices, in q's manager.
     */
    public static NDArray selectKeys(NDArray q, NDArray k, int bm, int kept) {
        Shape s = q.getShape();
        int b = (int) s.get(0);
        int h = (int) s.get(1);
        int len = (int) s.get(2);
        int g = blocks(len, bm);
        Kernels kernels = Kernels.of(q);
        double scale = 1 / Math.sqrt(s.get(3));
        float[] colsums = new float[b * h * g * len];
        NDArray qf = kernels.cast(q, TensorType.F32);
        NDArray kt = kernels.cast(k, TensorType.F32).transpose(0, 1, 3, 2);
        // one query block at a time bounds the score matrix to [B, H, bm, S]
        for (int blk = 0; blk < g; blk++) {
            int from = blk * bm;
            int to = Math.min(len, from + bm);
            try (NDArray scores = qf.get(new NDIndex(":, :, " + from + ":" + to + ", :")).matMul(kt).mul(scale);
                    NDArray p = kernels.softmax(scores, -1);
                    NDArray sums = p.sum(new int[] {2})) {
                float[] c = sums.toFloatArray(); // [B, H, S]
                for (int bh = 0; bh < b * h; bh++) {
                    System.arraycopy(c, bh * len, colsums, (bh * g + blk) * len, len);
                }
            }
        }
        long[] idx = new long[b * h * g * kept];
        for (int row = 0; row < b * h * g; row++) {
            int[] top = Selection.topK(colsums, row * len, len, kept);
            for (int i = 0; i < kept; i++) {
                idx[row * kept + i] = top[i];
            }
        }
        return q.getManager().create(idx, new Shape(b, h, g, kept));
    }

    /**
     * softmax over each query block's kept keys only (renormalised over them) times their values:
     * [B, H, S, Dh]. {@code keys} is int64 [B, H, G, kept].
     */
    public static NDArray keptAttention(NDArray q, NDArray k, NDArray v, NDArray keys, int bm) {
        Shape s = q.getShape();
        long b = s.get(0);
        long h = s.get(1);
        long len = s.get(2);
        long dh = s.get(3);
        Shape ks = keys.getShape();
        long g = ks.get(2);
        long kept = ks.get(3);
        if (g != blocks(len, bm)) {
            throw new IllegalArgumentException("key sets for " + g + " query blocks, the sequence has " + blocks(len, bm));
        }
        NDArray padded = q;
        if (g * bm > len) { // the padding rows attend to something and are dropped
            // made in float32 and cast: no bf16 DataType may reach a DJL call
            NDArray zeros = Kernels.of(q).cast(q.getManager().zeros(new Shape(b, h, g * bm - len, dh)),
                    Precision.typeOf(q));
            padded = q.concat(zeros, 2);
        }
        NDArray index = keys.reshape(b, h, g * kept, 1).broadcast(new Shape(b, h, g * kept, dh));
        NDArray kSel = k.gather(index, 2).reshape(b, h * g, kept, dh);
        NDArray vSel = v.gather(index, 2).reshape(b, h * g, kept, dh);
        NDArray o = Kernels.of(q).sdpa(padded.reshape(b, h * g, bm, dh), kSel, vSel, 1 / Math.sqrt(dh));
        o = o.reshape(b, h, g * bm, dh);
        return g * bm > len ? o.get(new NDIndex(":, :, :" + len + ", :")) : o;
    }
}
