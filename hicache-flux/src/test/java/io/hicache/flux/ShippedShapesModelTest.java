package io.hicache.flux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.image.RgbImage;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.ModelDefaults;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.shapes.Faithfulness;
import io.hicache.core.shapes.ShapeAttribute;
import io.hicache.core.shapes.ShapePrompt;
import io.hicache.core.shapes.ShapesGenerator;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The shipped {@code builtin:flux-shapes} draws what it is asked for: uncached, at its own
 * defaults, on full-grammar prompts it was not tuned on, read back by the Shapes checker.
 */
class ShippedShapesModelTest {
    static final String MODEL = "builtin:" + FluxBackend.BUILTIN_SHAPES;
    static final int IMAGES = 16;

    @Test
    void theUncachedModelDrawsWhatThePromptsAsk() throws Exception {
        FluxBackend backend = new FluxBackend();
        ModelDefaults d = backend.defaults(MODEL);
        assertEquals(ShapesModel.DEFAULTS, d);
        Faithfulness score = new Faithfulness();
        Random prompts = new Random(4242);
        try (ImagePipeline p = backend.open(PipelineSpec.full(MODEL, Device.cpu(), TensorType.F32))) {
            for (int i = 0; i < IMAGES; i++) {
                String prompt = ShapePrompt.of(ShapesGenerator.randomAttributes(prompts)).text();
                GenerationRequest r = new GenerationRequest(prompt, null, 1000 + i, d.steps(), d.width(), d.height(),
                        d.guidance(), CacheConfig.of(CacheMode.ORIGINAL), null, null, true, false);
                score.add(prompt, RgbImage.fromBufferedImage(p.generate(r).image()));
            }
        }
        Faithfulness.Score s = score.score();
        for (ShapeAttribute a : ShapeAttribute.values()) {
            assertTrue(s.perAttribute().get(a).fraction() >= MIN_PER_ATTRIBUTE, a + ": " + s);
        }
        assertTrue(s.allCorrect().fraction() >= MIN_ALL_CORRECT, s.toString());
    }

    static final double MIN_PER_ATTRIBUTE = 0.9;
    static final double MIN_ALL_CORRECT = 0.75;
}
