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
        System.out.println("shipped Shapes model, uncached, " + IMAGES + " prompts: " + s);
        // every image shows one object on a background the checker can read
        assertEquals(0, s.ungradable(), s.toString());
        // Chance (a random image of the task) would score 1/2 size, 1/8 colour and background, 1/4
        // shape, 1/9 position: 0.22 overall. The shipped weights measured 60/80 here: background
        // 16/16, position 15/16, colour 14/16, size 12/16, shape 3/16 (shape is still at chance:
        // docs/shapes-model.md). The floors sit one or two images below, so a path or weights that
        // stop following the prompt fail, and ordinary float differences between machines do not.
        assertTrue(s.overall().fraction() >= MIN_OVERALL, s.toString());
        assertTrue(s.perAttribute().get(ShapeAttribute.BACKGROUND).fraction() >= MIN_BACKGROUND, s.toString());
        assertTrue(s.perAttribute().get(ShapeAttribute.POSITION).fraction() >= MIN_POSITION, s.toString());
        assertTrue(s.perAttribute().get(ShapeAttribute.COLOUR).fraction() >= MIN_COLOUR, s.toString());
    }

    static final double MIN_OVERALL = 0.65;
    static final double MIN_BACKGROUND = 0.85;
    static final double MIN_POSITION = 0.8;
    static final double MIN_COLOUR = 0.75;
}
