package io.hicache.qwen.vision;

/**
 * The image sizes of Qwen-Image-Edit, computed with the same floating-point steps as the Python
 * reference so that every size agrees exactly, including Python's {@code round()}, which rounds
 * halves to even ({@code round(2.5) == 2}; {@link Math#rint} does the same).
 */
public final class EditSizes {
    /** The area diffusers' {@code QwenImageEditPipeline} resizes the input image to: 1024². */
    public static final long EDIT_AREA = 1024L * 1024L;

    private EditSizes() {}

    /** A width and height in pixels. */
    public record Size(int width, int height) {
        public Size {
            if (width < 0 || height < 0) {
                throw new IllegalArgumentException("negative size " + width + "x" + height);
            }
        }

        @Override
        public String toString() {
            return width + "x" + height;
        }
    }

    /**
     * diffusers' {@code calculate_dimensions(target_area, ratio)}: {@code w = √(area·ratio)},
     * {@code h = w / ratio} (from the unrounded width), then each rounded to a multiple of 32 with
     * Python's {@code round(v / 32) * 32}.
     *
     * @param area the target pixel count (the pipeline passes 1024·1024)
     * @param ratio width / height of the input image
     */
    public static Size calculateDimensions(long area, double ratio) {
        if (area <= 0 || !(ratio > 0) || Double.isInfinite(ratio)) {
            throw new IllegalArgumentException("calculate_dimensions needs a positive area and ratio, got area "
                    + area + ", ratio " + ratio);
        }
        double width = Math.sqrt(area * ratio);
        double height = width / ratio;
        long w = (long) Math.rint(width / 32) * 32;
        long h = (long) Math.rint(height / 32) * 32;
        if (w > Integer.MAX_VALUE || h > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("size for area " + area + " at ratio " + ratio + " is too large");
        }
        return new Size((int) w, (int) h);
    }

    /**
     * The size the edit pipeline resizes an input image of {@code width × height} to (with PIL's
     * LANCZOS), for both the vision-language encoder and the VAE: {@code calculate_dimensions(1024²,
     * width / height)}.
     */
    public static Size conditionSize(int width, int height) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("input image size " + width + "x" + height);
        }
        Size s = calculateDimensions(EDIT_AREA, (double) width / height);
        if (s.width() == 0 || s.height() == 0) {
            throw new IllegalArgumentException("input image " + width + "x" + height
                    + " is too elongated: its 1024² resize would be " + s);
        }
        return s;
    }

    /**
     * The default output size for a condition size: each side floored to a multiple of 16 (the
     * pipeline's {@code vae_scale_factor · 2}), as {@code width // 16 * 16}.
     */
    public static Size defaultOutputSize(Size condition) {
        return new Size(condition.width() / 16 * 16, condition.height() / 16 * 16);
    }

    /**
     * transformers' Qwen2-VL {@code smart_resize(height, width, factor, min_pixels, max_pixels)}: both
     * sides rounded (half to even) to multiples of {@code factor}; if the area then exceeds
     * {@code maxPixels}, both sides are divided by {@code β = √(h·w / maxPixels)} and floored to
     * multiples of {@code factor}; if it falls below {@code minPixels}, multiplied by
     * {@code β = √(minPixels / (h·w))} and ceiled. A floored side of 0 (only possible for very
     * elongated images with a small {@code maxPixels}) becomes {@code factor}, as in newer
     * transformers releases, instead of an empty image.
     *
     * @return the resized (height, width) as a {@link Size} (width, height)
     * @throws IllegalArgumentException, as transformers raises {@code ValueError}, when a side is
     *     below {@code factor} or the aspect ratio exceeds 200
     */
    public static Size smartResize(int height, int width, int factor, long minPixels, long maxPixels) {
        if (factor < 1) {
            throw new IllegalArgumentException("factor must be positive, got " + factor);
        }
        if (height < factor || width < factor) {
            throw new IllegalArgumentException("height:" + height + " or width:" + width
                    + " must be larger than factor:" + factor);
        }
        double aspect = (double) Math.max(height, width) / Math.min(height, width);
        if (aspect > 200) {
            throw new IllegalArgumentException("absolute aspect ratio must be smaller than 200, got " + aspect
                    + " (" + width + "x" + height + ")");
        }
        long hBar = (long) Math.rint((double) height / factor) * factor;
        long wBar = (long) Math.rint((double) width / factor) * factor;
        double area = (double) height * width;
        if (hBar * wBar > maxPixels) {
            double beta = Math.sqrt(area / maxPixels);
            hBar = Math.max(factor, (long) Math.floor(height / beta / factor) * factor);
            wBar = Math.max(factor, (long) Math.floor(width / beta / factor) * factor);
        } else if (hBar * wBar < minPixels) {
            double beta = Math.sqrt(minPixels / area);
            hBar = (long) Math.ceil(height * beta / factor) * factor;
            wBar = (long) Math.ceil(width * beta / factor) * factor;
        }
        if (hBar > Integer.MAX_VALUE || wBar > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("smart_resize of " + width + "x" + height + " is too large");
        }
        return new Size((int) wBar, (int) hBar);
    }
}
