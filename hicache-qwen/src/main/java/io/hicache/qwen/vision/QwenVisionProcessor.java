package io.hicache.qwen.vision;

import io.hicache.core.image.Resampling;
import io.hicache.core.image.RgbImage;
import io.hicache.qwen.vision.EditSizes.Size;

/**
 * The image half of transformers' {@code Qwen2VLImageProcessor} (the numpy/PIL implementation) for
 * one image: {@code smart_resize} to multiples of {@code patch·merge}, a PIL resize (BICUBIC by
 * default), {@code x·rescale_factor} in float64 then cast to float32, {@code (x − mean)/std} in
 * float32, the frame repeated to {@code temporal_patch_size} frames, and the patches flattened as
 * transformers' reshape/transpose does:
 *
 * <pre>
 * frames [T, C, H, W] → [gt, tp, C, gh/m, m, p, gw/m, m, p]
 *        → transpose(0, 3, 6, 4, 7, 2, 1, 5, 8) → [gt, gh/m, gw/m, m, m, C, tp, p, p]
 *        → [gt·gh·gw, C·tp·p·p]
 * </pre>
 *
 * so patches run over merge units (merge-row, merge-col), then the {@code m × m} patches inside one
 * (row-major); a patch vector is channel-major, then frame, then the {@code p × p} pixels row-major.
 */
public final class QwenVisionProcessor {
    private final VisionPreprocessorConfig config;

    public QwenVisionProcessor(VisionPreprocessorConfig config) {
        this.config = config;
    }

    public VisionPreprocessorConfig config() {
        return config;
    }

    /**
     * The processed image.
     *
     * @param pixelValues {@code [gridT·gridH·gridW, patchDim]} row-major, float32 as transformers returns
     * @param gridT frames / temporal patch size (1 for an image)
     * @param gridH patch rows
     * @param gridW patch columns
     * @param patchDim values per patch: {@code 3 · temporalPatchSize · patchSize²} (1176 for Qwen2.5-VL)
     * @param mergeSize patches merged per side into one language-model token
     */
    public record Result(float[] pixelValues, int gridT, int gridH, int gridW, int patchDim, int mergeSize) {
        /** Rows of {@link #pixelValues}: one per ViT patch. */
        public int numPatches() {
            return gridT * gridH * gridW;
        }

        /** The number of {@code <|image_pad|>} tokens the image stands for: {@code t·h·w / merge²}. */
        public int imageTokens() {
            return numPatches() / (mergeSize * mergeSize);
        }

        /** {@code image_grid_thw}: (t, h, w) in patches. */
        public int[] gridThw() {
            return new int[] {gridT, gridH, gridW};
        }
    }

    /** The size (width, height) an image of {@code width × height} is resized to before patching. */
    public Size resizedSize(int width, int height) {
        return EditSizes.smartResize(height, width, config.factor(), config.minPixels(), config.maxPixels());
    }

    /** Processes one RGB image. */
    public Result process(RgbImage image) {
        Size target = resizedSize(image.width(), image.height());
        RgbImage resized = Resampling.resize(image, target.width(), target.height(), config.resample());
        int p = config.patchSize();
        int m = config.mergeSize();
        int tp = config.temporalPatchSize();
        int gridH = target.height() / p;
        int gridW = target.width() / p;
        int patchDim = 3 * tp * p * p;
        long total = (long) gridH * gridW * patchDim;
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("image " + target + " has too many patches to hold in one array");
        }
        float[] normalised = normalise(resized);
        int w = target.width();
        int plane = target.width() * target.height();
        float[] out = new float[(int) total];
        int o = 0;
        for (int mergeRow = 0; mergeRow < gridH / m; mergeRow++) {
            for (int mergeCol = 0; mergeCol < gridW / m; mergeCol++) {
                for (int innerRow = 0; innerRow < m; innerRow++) {
                    for (int innerCol = 0; innerCol < m; innerCol++) {
                        int top = (mergeRow * m + innerRow) * p;
                        int left = (mergeCol * m + innerCol) * p;
                        for (int c = 0; c < 3; c++) {
                            // The single frame is repeated tp times: every frame holds the same pixels.
                            for (int t = 0; t < tp; t++) {
                                for (int y = 0; y < p; y++) {
                                    System.arraycopy(normalised, c * plane + (top + y) * w + left, out, o, p);
                                    o += p;
                                }
                            }
                        }
                    }
                }
            }
        }
        return new Result(out, 1, gridH, gridW, patchDim, m);
    }

    /** Channel-first {@code [3, H, W]} float32 values {@code ((float)(v·rescale) − mean) / std}. */
    private float[] normalise(RgbImage image) {
        float[] mean = config.imageMean();
        float[] std = config.imageStd();
        double rescale = config.rescaleFactor();
        // Each channel has only 256 possible inputs: tabulate them once.
        float[][] table = new float[3][256];
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v++) {
                float scaled = (float) (v * rescale); // numpy: uint8 → float64, × scale, → float32
                table[c][v] = (scaled - mean[c]) / std[c]; // numpy float32 arithmetic
            }
        }
        int w = image.width();
        int plane = w * image.height();
        float[] out = new float[3 * plane];
        byte[] rgb = image.toByteArray();
        for (int i = 0; i < plane; i++) {
            out[i] = table[0][rgb[3 * i] & 0xFF];
            out[plane + i] = table[1][rgb[3 * i + 1] & 0xFF];
            out[2 * plane + i] = table[2][rgb[3 * i + 2] & 0xFF];
        }
        return out;
    }
}
