package io.hicache.flux;

import io.hicache.core.testing.IsolatedHicacheHome;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.image.GenerationParameters;
import io.hicache.core.image.PngReader;
import io.hicache.core.image.PngWriter;
import io.hicache.core.image.RgbImage;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.GenerationResult;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.PipelineSpec.Component;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.TensorType;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prompt → PNG through nothing but the public API a Maven user embeds: the backend found by name,
 * a pipeline on the built-in tiny model, requests, results and the PNG writer/reader.
 */
@ExtendWith(IsolatedHicacheHome.class)
class FluxPipelineTest {
    static ImagePipeline pipeline;

    @BeforeAll
    static void open() throws IOException {
        pipeline = Backend.named("flux").open(PipelineSpec.full("builtin:flux-tiny", Device.cpu(), TensorType.F32));
    }

    @AfterAll
    static void close() {
        pipeline.close();
    }

    static GenerationRequest request(String prompt, long seed, CacheConfig cache) {
        return GenerationRequest.of(prompt, seed, cache).withSize(128, 96).withSteps(10);
    }

    @Test
    void promptToPngWithOriginalAndHiCache(@TempDir Path out) throws Exception {
        for (CacheConfig cache : new CacheConfig[] {CacheConfig.of(CacheMode.ORIGINAL), CacheConfig.defaults().withInterval(3)}) {
            GenerationResult r = pipeline.generate(request("a lighthouse at dusk", 7, cache));
            assertEquals(128, r.image().getWidth());
            assertEquals(96, r.image().getHeight());
            assertArrayEquals(new long[] {1, 16, 12, 16}, r.latents().shape());
            assertEquals(cache.schedule().fullSteps(10).size(), r.stats().cache().fullSteps());
            assertEquals(10, r.stats().stepSeconds().size());
            assertTrue(r.stats().totalFlops() > 0);

            GenerationParameters params = new GenerationParameters("a lighthouse at dusk", null, 7, 10, 3.5, 128, 96,
                    cache.mode().displayName(), cache.tag(), "builtin:flux-tiny", Map.of("backend", "flux"));
            Path png = out.resolve(cache.tag() + ".png");
            PngWriter.write(png, RgbImage.fromBufferedImage(r.image()), params.toPngText());
            assertEquals(RgbImage.fromBufferedImage(r.image()), PngReader.readImage(png));
            GenerationParameters back = GenerationParameters.fromPngText(PngReader.readText(png));
            assertEquals(params, back);
        }
    }

    @Test
    void intervalOneEqualsOriginalAndSeedsAreReproducible() throws Exception {
        GenerationResult original = pipeline.generate(request("a red bicycle", 3, CacheConfig.of(CacheMode.ORIGINAL)));
        GenerationResult interval1 = pipeline.generate(request("a red bicycle", 3, CacheConfig.defaults().withInterval(1)));
        assertEquals(original.latents(), interval1.latents(), "HiCache with interval 1 is the original run, bit for bit");
        GenerationResult again = pipeline.generate(request("a red bicycle", 3, CacheConfig.of(CacheMode.ORIGINAL)));
        assertEquals(original.latents(), again.latents(), "same seed, same latents");
        GenerationResult other = pipeline.generate(request("a red bicycle", 4, CacheConfig.of(CacheMode.ORIGINAL)));
        assertFalse(original.latents().equals(other.latents()), "another seed, other latents");
    }

    @Test
    void sharedEmbeddingsGiveTheSameResultAsThePrompt() throws Exception {
        TextEmbeddings e = pipeline.encode("three paper boats");
        assertArrayEquals(new long[] {1, 512, 32}, e.tokens().shape(), "T5 padded to FLUX.1-dev's 512 tokens");
        assertArrayEquals(new long[] {1, 32}, e.pooled().shape());
        GenerationRequest byPrompt = request("three paper boats", 11, CacheConfig.defaults());
        GenerationRequest byEmbeddings = new GenerationRequest(byPrompt.prompt(), null, 11, 10, 128, 96, 3.5,
                CacheConfig.defaults(), e, null, true, false);
        assertEquals(pipeline.generate(byPrompt).latents(), pipeline.generate(byEmbeddings).latents());
    }

    @Test
    void latentOnlyPipelinesNeedNeitherTextEncodersNorVae() throws Exception {
        TextEmbeddings e = pipeline.encode("a bowl of ramen");
        PipelineSpec spec = new PipelineSpec("builtin:flux-tiny", Device.cpu(), TensorType.F32,
                EnumSet.of(Component.TRANSFORMER));
        try (ImagePipeline latentOnly = Backend.named("flux").open(spec)) {
            GenerationRequest r = new GenerationRequest("a bowl of ramen", null, 5, 10, 128, 96, 3.5,
                    CacheConfig.defaults(), e, null, false, false);
            GenerationResult g = latentOnly.generate(r);
            assertNull(g.image());
            assertEquals(pipeline.generate(r).latents(), g.latents(), "same latents as the full pipeline");
            assertThrows(IllegalStateException.class, () -> latentOnly.encode("x"));
            GenerationRequest decode = new GenerationRequest("x", null, 5, 10, 128, 96, 3.5, CacheConfig.defaults(), e,
                    null, true, false);
            assertThrows(IllegalStateException.class, () -> latentOnly.generate(decode));
        }
    }

    @Test
    void forecastErrorsAreMeasuredOnRequest() throws Exception {
        GenerationRequest base = request("a watercolor map", 1, CacheConfig.defaults().withInterval(4));
        GenerationRequest measured = new GenerationRequest(base.prompt(), null, 1, 10, 128, 96, 3.5, base.cache(), null,
                null, true, true);
        GenerationResult m = pipeline.generate(measured);
        assertEquals(pipeline.generate(base).latents(), m.latents(), "measuring does not change the result");
        assertEquals(java.util.Set.of("img_attn", "img_mlp", "txt_attn", "txt_mlp", "total"),
                m.stats().cache().meanForecastErrorByModule().keySet());
        assertTrue(m.stats().cache().meanForecastErrorByModule().values().stream().allMatch(v -> v > 0 && v < 10));
    }

    @Test
    void badRequestsAndModelsAreReportedClearly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GenerationRequest.of("x", 0, CacheConfig.defaults()).withSize(100, 96));
        assertTrue(e.getMessage().contains("multiples of 16"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Backend.named("flux").checkModel(
                PipelineSpec.full("builtin:nope", Device.cpu(), TensorType.F32)));
        NoSuchFileException missing = assertThrows(NoSuchFileException.class, () -> Backend.named("flux").checkModel(
                PipelineSpec.full(IsolatedHicacheHome.current().resolve("no-model").toString(), Device.cpu(), TensorType.F32)));
        assertTrue(missing.getMessage().contains("huggingface-cli download"), missing.getMessage());
        assertNotNull(pipeline.describe());
        assertTrue(pipeline.parameterBytes() > 0);
    }
}
