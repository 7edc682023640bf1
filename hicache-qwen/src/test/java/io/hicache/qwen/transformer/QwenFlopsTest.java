package io.hicache.qwen.transformer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.metrics.FlopCounter.Kind;
import org.junit.jupiter.api.Test;

/**
 * The analytic FLOPs of the real Qwen-Image config (no weights allocated) against docs/qwen-image.md §8,
 * whose figures are rounded to 0.01 of the unit shown. At 1328² (6889 image tokens) one forward with
 * 64 text tokens is 130.15 TFLOP; a true-CFG step (cond 64, uncond " " = 6 tokens) 258.92 TFLOP. That
 * the model's run-time counting equals this analytic count is checked on the tiny model in
 * {@link QwenCachingInvariantsTest}.
 */
class QwenFlopsTest {
    static final double T = 1e12;
    static final double G = 1e9;
    static final QwenImageConfig REAL = QwenImageConfig.fromJson(QwenImageConfigTest.REAL);

    static QwenImageConfig withBlocks(int blocks) {
        return new QwenImageConfig(64, 16, blocks, 128, 24, 3584, new int[] {16, 56, 56});
    }

    static double perBlock(long n, long l) {
        return (QwenImageTransformer.flopsPerForward(withBlocks(1), n, l).total()
                - QwenImageTransformer.flopsPerForward(withBlocks(0), n, l).total()) / 1.0;
    }

    @Test
    void at1328SquaredPerForward() {
        long n = 83 * 83;
        assertEquals(6889, n);
        assertEquals(128.77 * T, QwenImageTransformer.flopsPerForward(REAL, n, 6).total(), 0.005 * T, "L = 6");
        assertEquals(130.15 * T, QwenImageTransformer.flopsPerForward(REAL, n, 64).total(), 0.005 * T, "L = 64");
        assertEquals(131.68 * T, QwenImageTransformer.flopsPerForward(REAL, n, 128).total(), 0.005 * T, "L = 128");
        assertEquals(140.99 * T, QwenImageTransformer.flopsPerForward(REAL, n, 512).total(), 0.005 * T, "L = 512");
        double cfgStep = QwenImageTransformer.flopsPerForward(REAL, n, 64).total()
                + QwenImageTransformer.flopsPerForward(REAL, n, 6).total();
        assertEquals(258.92 * T, cfgStep, 0.005 * T, "true-CFG step");
        assertEquals(12946 * T, 50 * cfgStep, 0.5 * T, "50 CFG steps");
    }

    @Test
    void at1328SquaredPerBlockAndKind() {
        long n = 6889;
        assertEquals(2146.08 * G, perBlock(n, 6), 0.005 * G);
        assertEquals(2169.08 * G, perBlock(n, 64), 0.005 * G);
        assertEquals(2349.57 * G, perBlock(n, 512), 0.005 * G);
        FlopCounter f = QwenImageTransformer.flopsPerForward(withBlocks(1), n, 64);
        assertEquals(594.05 * G, f.get(Kind.ATTENTION_SCORES), 0.005 * G, "attention core");
        // image attention projections 520.10 G + image MLP 1040.20 G + text projections and MLP 14.50 G
        assertEquals((520.10 + 1040.20 + 14.50) * G, f.get(Kind.ATTENTION_PROJECTIONS) + f.get(Kind.MLP), 0.02 * G);
        assertEquals(f.total(), f.get(Kind.ATTENTION_PROJECTIONS) + f.get(Kind.ATTENTION_SCORES) + f.get(Kind.MLP)
                + f.get(Kind.EMBEDDINGS), "every FLOP has a kind");
    }

    @Test
    void otherSizes() {
        assertEquals(68.17 * T, QwenImageTransformer.flopsPerForward(REAL, 4096, 6).total(), 0.005 * T, "1024², L 6");
        assertEquals(69.31 * T, QwenImageTransformer.flopsPerForward(REAL, 4096, 64).total(), 0.005 * T, "1024², L 64");
        assertEquals(78.30 * T, QwenImageTransformer.flopsPerForward(REAL, 4096, 512).total(), 0.005 * T, "1024², L 512");
        assertEquals(110.26 * T, QwenImageTransformer.flopsPerForward(REAL, 6032, 64).total(), 0.005 * T, "1664×928");
    }
}
