package io.hicache.core.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

class CpuFeaturesTest {
    private static final String ZEN4 = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n"
            + "flags\t\t: fpu sse2 avx avx2 avx512f avx512bw avx512_bf16 avx512_vnni\nbugs\t\t: sysret_ss_attrs\n"
            + "processor\t: 1\nflags\t\t: fpu sse2\n";
    private static final String AVX2_ONLY = "processor\t: 0\ncpu family\t: 25\nflags\t\t: fpu sse2 avx avx2 fma\n";
    private static final String SAPPHIRE_RAPIDS = "flags\t: avx512f amx_bf16 amx_tile amx_int8\n";

    @Test
    void readsTheFirstProcessorsFlags() {
        assertEquals(Set.of("fpu", "sse2", "avx", "avx2", "avx512f", "avx512bw", "avx512_bf16", "avx512_vnni"),
                CpuFeatures.flags(ZEN4));
        assertEquals(Set.of(), CpuFeatures.flags("processor\t: 0\nmodel name\t: something\n"), "no flags line");
        assertEquals(Set.of(), CpuFeatures.flags(""));
    }

    @Test
    void nativeBf16NeedsAvx512Bf16OrAmx() {
        assertTrue(CpuFeatures.nativeBf16(CpuFeatures.flags(ZEN4)));
        assertTrue(CpuFeatures.nativeBf16(CpuFeatures.flags(SAPPHIRE_RAPIDS)));
        assertFalse(CpuFeatures.nativeBf16(CpuFeatures.flags(AVX2_ONLY)), "avx2 alone emulates bf16");
        assertFalse(CpuFeatures.nativeBf16(Set.of()), "unknown CPU: the safe default");
    }
}
