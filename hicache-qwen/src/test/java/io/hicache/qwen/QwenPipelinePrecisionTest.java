package io.hicache.qwen;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.metrics.RelativeError;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.IsolatedHicacheHome;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * bf16 against f32 through the whole pipeline on the built-in tiny model (prompt encoder,
 * transformer under true CFG, both in the compute dtype): the final latents' relative L2 difference
 * is reported. bf16 rounds every layer to 8 mantissa bits (2⁻⁹ ≈ 0.2 %); over the text encoder,
 * 8 steps of two branches and the CFG combination that amplifies branch differences by s = 4 the
 * difference stays within a few per cent.
 */
@ExtendWith(IsolatedHicacheHome.class)
class QwenPipelinePrecisionTest {
    @Test
    void bf16StaysNearF32() throws Exception {
        HostTensor[] latents = new HostTensor[2];
        TensorType[] types = {TensorType.F32, TensorType.BF16};
        for (int i = 0; i < 2; i++) {
            try (ImagePipeline p = Backend.named("qwen-image")
                    .open(PipelineSpec.full("builtin:qwen-image-tiny", Device.cpu(), types[i]))) {
                latents[i] = p.generate(new GenerationRequest("a red star", " ", 7, 8, 128, 128, 0,
                        CacheConfig.of(CacheMode.ORIGINAL), null, null, false, false, 4.0, null, List.of())).latents();
            }
        }
        double rel = RelativeError.l2(latents[1].data(), latents[0].data());
        System.out.printf("tiny Qwen-Image pipeline, true CFG s=4, 8 steps 128x128: |bf16 - f32| / |f32| = %.4g%n", rel);
        assertTrue(rel > 0 && rel < 0.05, "bf16 vs f32 " + rel);
    }
}
