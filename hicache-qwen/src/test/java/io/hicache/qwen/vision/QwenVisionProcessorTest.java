package io.hicache.qwen.vision;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.core.image.Resampling;
import io.hicache.core.image.RgbImage;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.qwen.vision.EditSizes.Size;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QwenVisionProcessorTest {
    @TempDir
    Path dir;

    private static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    private static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

    /** Patch 14, merge 2, 2 frames, BICUBIC, with a small min_pixels so tiny images keep their size. */
    private static VisionPreprocessorConfig small(long minPixels) {
        return new VisionPreprocessorConfig(minPixels, 12_845_056, 14, 2, 2, 1 / 255.0, MEAN, STD,
                Resampling.Filter.BICUBIC);
    }

    /** The 0..255 level a normalised value came from (the normalisation is affine and far from ambiguous). */
    private static int level(float v, int channel) {
        return Math.round((v * STD[channel] + MEAN[channel]) * 255);
    }

    @Test
    void patchOrderFollowsMergeUnitsWorkedByHand() {
        // 56 wide x 28 high: smart_resize keeps it (28/28 = 1, 56/28 = 2; 1568 >= min 784), so no
        // resampling. Pixel (x, y) has R = x, G = y, B = 200 + x/14 + 10·(y/14): B names the 14x14
        // patch the pixel lies in.
        int w = 56;
        int h = 28;
        byte[] rgb = new byte[3 * w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                rgb[3 * (y * w + x)] = (byte) x;
                rgb[3 * (y * w + x) + 1] = (byte) y;
                rgb[3 * (y * w + x) + 2] = (byte) (200 + x / 14 + 10 * (y / 14));
            }
        }
        QwenVisionProcessor.Result r = new QwenVisionProcessor(small(784)).process(RgbImage.of(w, h, rgb));
        // Grid: 28/14 = 2 patch rows, 56/14 = 4 patch columns; one row of two 2x2 merge units.
        assertArrayEquals(new int[] {1, 2, 4}, r.gridThw());
        assertEquals(8, r.numPatches());
        assertEquals(2, r.imageTokens()); // 1·2·4 / 2²
        assertEquals(3 * 2 * 14 * 14, r.patchDim());
        assertEquals(8 * 1176, r.pixelValues().length);
        // Patch n = (mergeCol·2 + innerRow)·2 + innerCol (one merge row), so patches 0..7 cover the
        // 14x14 tiles (col, row): (0,0) (1,0) (0,1) (1,1) (2,0) (3,0) (2,1) (3,1).
        int[][] tiles = {{0, 0}, {1, 0}, {0, 1}, {1, 1}, {2, 0}, {3, 0}, {2, 1}, {3, 1}};
        for (int n = 0; n < 8; n++) {
            // Element (c, t, py, px) sits at ((c·2 + t)·14 + py)·14 + px; element 2·196·2 = 784 is
            // (c=2, t=0, py=0, px=0), the B of the tile's top-left pixel.
            int b = level(r.pixelValues()[n * 1176 + 784], 2);
            assertEquals(200 + tiles[n][0] + 10 * tiles[n][1], b, "patch " + n);
        }
        // Patch 5 = tile (3, 0): element (c=0, t=1, py=3, px=5) = (1·14 + 3)·14 + 5 = 243 is R of
        // pixel (42 + 5, 0 + 3) = 47.
        assertEquals(47, level(r.pixelValues()[5 * 1176 + 243], 0));
        // Patch 6 = tile (2, 1): element (c=1, t=1, py=2, px=7) = (3·14 + 2)·14 + 7 = 623 is G of
        // pixel (28 + 7, 14 + 2), i.e. 16.
        assertEquals(16, level(r.pixelValues()[6 * 1176 + 623], 1));
        // The two frames are the same image: element (c, t=0, ...) equals (c, t=1, ...).
        for (int n = 0; n < 8; n++) {
            for (int c = 0; c < 3; c++) {
                for (int k = 0; k < 196; k++) {
                    assertEquals(r.pixelValues()[n * 1176 + (2 * c) * 196 + k],
                            r.pixelValues()[n * 1176 + (2 * c + 1) * 196 + k]);
                }
            }
        }
    }

    /**
     * numpy's {@code frames.reshape(shape).transpose(perm).reshape(-1)} on a row-major array: output
     * element k, unravelled over the permuted shape, reads the input at the matching original index.
     */
    private static float[] reshapeTranspose(float[] in, int[] shape, int[] perm) {
        int dims = shape.length;
        int[] stride = new int[dims];
        stride[dims - 1] = 1;
        for (int d = dims - 2; d >= 0; d--) {
            stride[d] = stride[d + 1] * shape[d + 1];
        }
        int[] permShape = new int[dims];
        for (int d = 0; d < dims; d++) {
            permShape[d] = shape[perm[d]];
        }
        float[] out = new float[in.length];
        int[] idx = new int[dims];
        for (int k = 0; k < out.length; k++) {
            int rest = k;
            for (int d = dims - 1; d >= 0; d--) {
                idx[d] = rest % permShape[d];
                rest /= permShape[d];
            }
            int src = 0;
            for (int d = 0; d < dims; d++) {
                src += idx[d] * stride[perm[d]];
            }
            out[k] = in[src];
        }
        return out;
    }

    /** The processor's output rebuilt the way transformers builds it, from the resized pixels. */
    private static float[] transformersLayout(RgbImage resized) {
        int h = resized.height();
        int w = resized.width();
        // frames [2, 3, H, W]: the normalised image twice.
        float[] frames = new float[2 * 3 * h * w];
        for (int t = 0; t < 2; t++) {
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        float scaled = (float) (resized.sample(x, y, c) * (1 / 255.0));
                        frames[((t * 3 + c) * h + y) * w + x] = (scaled - MEAN[c]) / STD[c];
                    }
                }
            }
        }
        int[] shape = {1, 2, 3, h / 28, 2, 14, w / 28, 2, 14};
        return reshapeTranspose(frames, shape, new int[] {0, 3, 6, 4, 7, 2, 1, 5, 8});
    }

    @Test
    void layoutMatchesTransformersReshapeAndTranspose() {
        // 84 wide x 56 high keeps its size (3x2 merge units, 6x4 patches); random pixels.
        byte[] rgb = new byte[3 * 84 * 56];
        new Random(7).nextBytes(rgb);
        RgbImage img = RgbImage.of(84, 56, rgb);
        QwenVisionProcessor.Result r = new QwenVisionProcessor(small(3136)).process(img);
        assertArrayEquals(new int[] {1, 4, 6}, r.gridThw());
        assertEquals(6, r.imageTokens());
        assertArrayEquals(transformersLayout(img), r.pixelValues());
    }

    @Test
    void resizesWithBicubicBeforePatching() {
        // 60x50: smart_resize(50, 60) → 50/28 = 1.79 → 56, 60/28 = 2.14 → 56; 56² = 3136 is not
        // below min_pixels. The pixels are PIL-BICUBIC-resized to 56x56 first.
        byte[] rgb = new byte[3 * 60 * 50];
        new Random(8).nextBytes(rgb);
        RgbImage img = RgbImage.of(60, 50, rgb);
        QwenVisionProcessor.Result r = new QwenVisionProcessor(small(3136)).process(img);
        assertArrayEquals(new int[] {1, 4, 4}, r.gridThw());
        assertEquals(4, r.imageTokens());
        RgbImage resized = Resampling.resize(img, 56, 56, Resampling.Filter.BICUBIC);
        assertArrayEquals(transformersLayout(resized), r.pixelValues());
    }

    @Test
    void normalisationValues() {
        // numpy float32: ((float32)(v·(1/255)) − mean) / std for v = 0, 128, 255 per channel:
        //   R: −1.7922626, 0.076336145, 1.9303361   (e.g. (1 − 0.48145466)/0.26862954 = 1.93034)
        //   G: −1.7520971, 0.16889732, 2.0748837
        //   B: −1.4802198, 0.33994877, 2.1458969
        float[][] expected = {
            {-1.7922625541687012f, 0.07633614540100098f, 1.9303361177444458f},
            {-1.7520971298217773f, 0.16889731585979462f, 2.0748836994171143f},
            {-1.480219841003418f, 0.33994877338409424f, 2.1458969116210938f},
        };
        int[] levels = {0, 128, 255};
        for (int i = 0; i < 3; i++) {
            RgbImage flat = RgbImage.filled(28, 28, levels[i], levels[i], levels[i]);
            // 28x28 = 784 pixels is not below min_pixels 784, so it keeps its size: 2x2 patches.
            QwenVisionProcessor.Result r = new QwenVisionProcessor(small(784)).process(flat);
            assertArrayEquals(new int[] {1, 2, 2}, r.gridThw());
            for (int n = 0; n < 4; n++) {
                for (int c = 0; c < 3; c++) {
                    for (int k = 0; k < 2 * 196; k++) {
                        assertEquals(expected[c][i], r.pixelValues()[n * 1176 + c * 392 + k], "level " + levels[i]);
                    }
                }
            }
        }
    }

    @Test
    void gridSizesForEditImages() {
        QwenVisionProcessor edit = new QwenVisionProcessor(VisionPreprocessorConfig.qwenImageEdit());
        // 1024² → 1036² → 74x74 patches → 74²/4 = 1369 tokens.
        assertEquals(new Size(1036, 1036), edit.resizedSize(1024, 1024));
        // Class default max_pixels 1,003,520: 980² → 70x70 → 1225 tokens.
        QwenVisionProcessor capped = new QwenVisionProcessor(VisionPreprocessorConfig.defaults());
        assertEquals(new Size(980, 980), capped.resizedSize(1024, 1024));
        // The 4:3 condition image 1184x896 → 1176x896 → 84x64 patches → 1344 tokens.
        QwenVisionProcessor.Result r = edit.process(RgbImage.filled(1184, 896, 9, 99, 199));
        assertArrayEquals(new int[] {1, 64, 84}, r.gridThw());
        assertEquals(1344, r.imageTokens());
        assertEquals(64 * 84 * 1176, r.pixelValues().length);
    }

    // ---- preprocessor_config.json ----

    private Path configFile(String json) throws IOException {
        Path processor = Files.createDirectories(dir.resolve("p" + json.hashCode()));
        Files.writeString(processor.resolve(VisionPreprocessorConfig.FILE), json);
        return processor;
    }

    @Test
    void readsTheQwen25VlProcessorLayout() throws IOException {
        // The layout of Qwen2.5-VL's processor/preprocessor_config.json.
        Path p = configFile("""
                {
                  "do_convert_rgb": true, "do_normalize": true, "do_rescale": true, "do_resize": true,
                  "image_mean": [0.48145466, 0.4578275, 0.40821073],
                  "image_processor_type": "Qwen2VLImageProcessor",
                  "image_std": [0.26862954, 0.26130258, 0.27577711],
                  "max_pixels": 12845056, "merge_size": 2, "min_pixels": 3136, "patch_size": 14,
                  "processor_class": "Qwen2_5_VLProcessor", "resample": 3,
                  "rescale_factor": 0.00392156862745098,
                  "size": {"longest_edge": 12845056, "shortest_edge": 3136},
                  "temporal_patch_size": 2
                }
                """);
        VisionPreprocessorConfig c = VisionPreprocessorConfig.read(p);
        assertEquals(VisionPreprocessorConfig.qwenImageEdit(), c);
        assertEquals(28, c.factor());
    }

    @Test
    void absentFieldsTakeTransformersDefaultsAndMinMaxOverrideSize() throws IOException {
        VisionPreprocessorConfig empty = VisionPreprocessorConfig.read(configFile("{}"));
        assertEquals(VisionPreprocessorConfig.defaults(), empty);
        assertEquals(3136, empty.minPixels());
        assertEquals(1_003_520, empty.maxPixels());
        assertEquals(Resampling.Filter.BICUBIC, empty.resample());
        // Only size: its edges are the limits.
        VisionPreprocessorConfig sized = VisionPreprocessorConfig.read(configFile(
                "{\"size\": {\"shortest_edge\": 1000, \"longest_edge\": 2000000}}"));
        assertEquals(1000, sized.minPixels());
        assertEquals(2_000_000, sized.maxPixels());
        // min_pixels / max_pixels win over size; null counts as not given.
        VisionPreprocessorConfig both = VisionPreprocessorConfig.read(configFile(
                "{\"min_pixels\": 500, \"max_pixels\": null, \"size\": {\"shortest_edge\": 1000, \"longest_edge\": 2000000}}"));
        assertEquals(500, both.minPixels());
        assertEquals(2_000_000, both.maxPixels());
        // A single number for image_mean applies to all channels.
        VisionPreprocessorConfig half = VisionPreprocessorConfig.read(configFile("{\"image_mean\": 0.5, \"image_std\": 0.5}"));
        assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, half.imageMean());
        assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, half.imageStd());
    }

    @Test
    void writerRoundTrips() throws IOException {
        VisionPreprocessorConfig edit = VisionPreprocessorConfig.qwenImageEdit();
        Path processor = dir.resolve("tiny").resolve("processor");
        edit.write(processor);
        assertEquals(edit, VisionPreprocessorConfig.read(processor));
        VisionPreprocessorConfig other = new VisionPreprocessorConfig(784, 50_000, 14, 2, 2, 1 / 255.0,
                new float[] {0.5f, 0.25f, 0.125f}, new float[] {0.3f, 0.2f, 0.1f}, Resampling.Filter.LANCZOS);
        other.write(processor);
        assertEquals(other, VisionPreprocessorConfig.read(processor));
    }

    private void assertInvalid(String json, String expected) throws IOException {
        Path p = configFile(json);
        InvalidModelException e = assertThrows(InvalidModelException.class, () -> VisionPreprocessorConfig.read(p));
        assertTrue(e.getMessage().contains(VisionPreprocessorConfig.FILE), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void malformedConfigsAreRefusedWithTheFieldNamed() throws IOException {
        assertInvalid("{\"min_pixels\": \"many\"}", "'min_pixels' must be a positive integer");
        assertInvalid("{\"size\": {\"longest_edge\": 2.5}}", "'size.longest_edge' must be a positive integer");
        assertInvalid("{\"min_pixels\": 5000, \"max_pixels\": 4000}", "min_pixels <= max_pixels");
        assertInvalid("{\"image_mean\": [0.5, 0.5]}", "'image_mean' must be 3 numbers");
        assertInvalid("{\"image_std\": [0.5, 0, 0.5]}", "image_std positive");
        assertInvalid("{\"patch_size\": 0}", "'patch_size' must be in [1, 1024]");
        assertInvalid("{\"resample\": 2}", "resample 2 is not supported");
        assertInvalid("{\"do_resize\": false}", "do_resize is false");
        assertInvalid("{\"size\": 12}", "'size' must be an object");
        assertInvalid("{\"min_pixels\": 3136,", "not valid JSON");
        assertThrows(NoSuchFileException.class, () -> VisionPreprocessorConfig.read(dir.resolve("nowhere")));
    }
}
