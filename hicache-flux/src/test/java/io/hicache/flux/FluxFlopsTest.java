package io.hicache.flux;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.metrics.FlopCounter.Kind;
import org.junit.jupiter.api.Test;

/**
 * The analytic FLOP count of the real FLUX.1-dev config (no weights allocated) against the figures of
 * docs/models.md §6.3, which are rounded to 0.001 of the unit shown; the parameter spec
 * against docs/models.md §7. (That the model's runtime counting equals this analytic count is checked on the tiny
 * model in {@link FluxCachingInvariantsTest}.)
 */
class FluxFlopsTest {
    /** FLUX.1-dev transformer/config.json. */
    static final String FLUX_DEV = "{\"_class_name\": \"FluxTransformer2DModel\", \"_diffusers_version\": \"0.30.0.dev0\","
            + " \"attention_head_dim\": 128, \"axes_dims_rope\": [16, 56, 56], \"guidance_embeds\": true,"
            + " \"in_channels\": 64, \"joint_attention_dim\": 4096, \"num_attention_heads\": 24, \"num_layers\": 19,"
            + " \"num_single_layers\": 38, \"patch_size\": 1, \"pooled_projection_dim\": 768}";
    static final double T = 1e12;
    static final double G = 1e9;

    static final FluxConfig DEV = FluxConfig.fromJson(FLUX_DEV);

    static FluxConfig withBlocks(int doubles, int singles) {
        return new FluxConfig(64, 64, doubles, singles, 128, 24, 4096, 768, true, new int[] {16, 56, 56});
    }

    static long attention(FlopCounter f) {
        return f.get(Kind.ATTENTION_PROJECTIONS) + f.get(Kind.ATTENTION_SCORES);
    }

    @Test
    void fluxDevAt1024SquaredIs74385Gflop() {
        FlopCounter f = FluxTransformer.flopsPerForward(DEV, 4096, 512);
        assertEquals(74.385 * T, f.total(), 0.0005 * T, "total per forward");
        assertEquals(14.872 * T, f.get(Kind.ATTENTION_SCORES), 0.0005 * T, "S² attention core");
        assertEquals(3719.2 * T, 50 * f.total(), 0.05 * T, "50 steps");
        assertEquals(2082.8 * T, 28 * f.total(), 0.05 * T, "28 steps");
        assertEquals(f.total(), f.get(Kind.ATTENTION_PROJECTIONS) + f.get(Kind.ATTENTION_SCORES) + f.get(Kind.MLP)
                + f.get(Kind.EMBEDDINGS), "every FLOP has a kind");
        assertEquals(0, f.get(Kind.TEXT_ENCODERS) + f.get(Kind.VAE));
    }

    @Test
    void splitByBlockTypeAndKind() {
        FlopCounter none = FluxTransformer.flopsPerForward(withBlocks(0, 0), 4096, 512);
        FlopCounter doubles = FluxTransformer.flopsPerForward(withBlocks(19, 0), 4096, 512);
        FlopCounter singles = FluxTransformer.flopsPerForward(withBlocks(0, 38), 4096, 512);
        assertEquals(16.208 * G, none.total(), 0.0005 * G, "embeddings + head");
        assertEquals(1.611 + 12.885 + 0.065 + 0.038 + 1.611, none.total() / G, 0.003, "embedding parts");
        double doubleBlock = (doubles.total() - none.total()) / 19.0;
        double singleBlock = (singles.total() - none.total()) / 38.0;
        assertEquals(1304.823 * G, doubleBlock, 0.0005 * G, "double block");
        assertEquals(1304.653 * G, singleBlock, 0.0005 * G, "single block");
        // per double block: image + text projections, joint core, both MLPs, modulation
        assertEquals((309.238 + 38.655) * G, doubles.get(Kind.ATTENTION_PROJECTIONS) / 19.0, 0.001 * G);
        assertEquals(260.919 * G, doubles.get(Kind.ATTENTION_SCORES) / 19.0, 0.0005 * G);
        assertEquals((618.475 + 77.309) * G, doubles.get(Kind.MLP) / 19.0, 0.001 * G);
        assertEquals(0.226 * G, (doubles.get(Kind.EMBEDDINGS) - none.get(Kind.EMBEDDINGS)) / 19.0, 0.0005 * G);
        // per single block
        assertEquals(347.892 * G, singles.get(Kind.ATTENTION_PROJECTIONS) / 38.0, 0.0005 * G);
        assertEquals(695.785 * G, singles.get(Kind.MLP) / 38.0, 0.0005 * G);
        assertEquals(0.057 * G, (singles.get(Kind.EMBEDDINGS) - none.get(Kind.EMBEDDINGS)) / 38.0, 0.0005 * G);
        // the doc's split by kind
        assertEquals(11.567 * T, attention(doubles), 0.0005 * T, "double attention (projections + core)");
        assertEquals(13.220 * T, doubles.get(Kind.MLP), 0.0005 * T, "double MLPs");
        assertEquals(23.135 * T, attention(singles), 0.0005 * T, "single attention");
        assertEquals(26.440 * T, singles.get(Kind.MLP), 0.0005 * T, "single MLPs");
    }

    /** The doc gives these to two decimals; 1360×768 computes to 74.07498 T, which it shows as 74.08. */
    @Test
    void otherSizes() {
        assertEquals(21.50 * T, FluxTransformer.flopsPerForward(DEV, 1024, 512).total(), 0.01 * T, "512²");
        assertEquals(74.08 * T, FluxTransformer.flopsPerForward(DEV, 4080, 512).total(), 0.01 * T, "1360×768");
    }

    @Test
    void parameterSpecMatchesTheCheckpointSize() {
        assertEquals(1160, FluxTransformer.parameterSpec(DEV).size(), "tensors");
        assertEquals(11_901_408_320L, FluxTransformer.parameterSpec(DEV).count(), "parameters");
    }
}
