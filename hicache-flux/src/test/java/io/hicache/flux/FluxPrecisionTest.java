package io.hicache.flux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.metrics.RelativeError;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.TensorAssert;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bfloat16 compute against float32 on the tiny model, 8 steps at 128×128. bf16 keeps 8 mantissa
 * bits (relative rounding 2⁻⁹ ≈ 0.2 %), weights and activations are rounded at every layer, and the
 * error accumulates over 4 blocks and 8 steps; measured ‖bf16 − f32‖/‖f32‖ of the final latents is
 * printed (0.3 % on the build machine), the bound is 1 %.
 */
class FluxPrecisionTest {
    static final double BOUND = 0.01;

    @TempDir
    static Path dir;

    static TinyModel f32;
    static TinyModel bf16;

    @BeforeAll
    static void load() throws IOException {
        TinyModel.write(dir.resolve("f32"));
        f32 = new TinyModel(dir.resolve("f32"), TensorType.F32);
        bf16 = new TinyModel(dir.resolve("f32"), TensorType.BF16);
    }

    @AfterAll
    static void close() {
        f32.close();
        bf16.close();
    }

    static double relativeL2(NDArray truth, NDArray other) {
        return RelativeError.l2(other, truth);
    }

    @Test
    void bf16StaysCloseToF32() {
        assertEquals(TensorType.BF16, bf16.transformer.dtype());
        NDArray a = f32.run(8, null).latents();
        FluxDenoiser.Result r = bf16.run(8, null);
        assertEquals(TensorType.F32, Precision.typeOf(r.latents()), "latents stay float32");
        double rel = relativeL2(a, r.latents());
        System.out.printf("tiny FLUX, 8 steps 128×128: ‖bf16 − f32‖/‖f32‖ = %.4g, max rel = %.4g%n", rel,
                TensorAssert.maxRelDiff(a, r.latents()));
        assertTrue(rel > 0, "bf16 really computes in bf16");
        assertTrue(rel < BOUND, "relative L2 " + rel);
    }

    @Test
    void hicacheInBf16TracksTheBf16Baseline() {
        NDArray base = bf16.run(12, null).latents();
        NDArray cached = bf16.run(12, CacheConfig.of(CacheMode.HICACHE).withInterval(3)).latents();
        double rel = relativeL2(base, cached);
        System.out.printf("tiny FLUX bf16, HiCache N=3 vs full: relative L2 %.4g%n", rel);
        assertTrue(rel > 0 && rel < 0.1, "relative L2 " + rel);
    }

    /** A bf16 checkpoint holds the f32 weights rounded to nearest even, the same rounding as casting at load. */
    @Test
    void bf16CheckpointEqualsCastingF32Weights() throws IOException {
        Path b = dir.resolve("bf16");
        TinyFlux.write(b, TinyFlux.config(), 1, TensorType.BF16, false);
        try (TinyModel fromBf16 = new TinyModel(b, TensorType.BF16)) {
            TensorAssert.assertBitEqual(bf16.run(3, null).latents(), fromBf16.run(3, null).latents(),
                    "bf16 file vs f32 file cast to bf16");
        }
    }
}
