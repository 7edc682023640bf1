package io.hicache.core.image;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import java.util.ArrayList;
import java.util.List;

/**
 * Decoded VAE output ({@code [B,3,H,W]} in [-1, 1]) to 8-bit images, exactly as diffusers'
 * {@code VaeImageProcessor.postprocess(output_type="pil")} does it:
 *
 * <ol>
 *   <li>{@code denormalize}: {@code (x / 2 + 0.5).clamp(0, 1)} on the torch tensor, so in the tensor's
 *       own dtype: torch computes each op in float and rounds its result to bf16/f16 (which can move
 *       a pixel by one level, e.g. bf16 0.98828125 gives 253 where f32 gives 254);</li>
 *   <li>{@code pt_to_numpy}: {@code .float()} (exact);</li>
 *   <li>{@code numpy_to_pil}: {@code (img * 255).round().astype("uint8")}: a float32 product, then
 *       numpy's round-half-to-even ({@link Math#rint}). So 0 maps to 127.5 and rounds to 128,
 *       -1 to 0, 1 to 255.</li>
 * </ol>
 *
 * <p>BFL's reference code (which the upstream HiCache FLUX runs use, before JPEG encoding) instead
 * computes {@code trunc(127.5·(clamp(x,-1,1)+1))}: rounding against truncation, so the two differ by
 * at most one level. The project follows diffusers (docs/models.md §5.5).
 *
 * <p>The other way, {@link #toTensor} prepares images for the VAE encoder as diffusers'
 * {@code VaeImageProcessor.preprocess} does: float32 {@code v / 255}, then {@code 2·x − 1}.
 */
public final class TensorImages {
    private TensorImages() {}

    /** One image from a {@code [3,H,W]} or {@code [1,3,H,W]} float tensor (f32, f16 or bf16). */
    public static RgbImage toImage(NDArray x) {
        long[] s = x.getShape().getShape();
        boolean single = s.length == 3 && s[0] == 3 || s.length == 4 && s[0] == 1 && s[1] == 3;
        if (!single) {
            throw new IllegalArgumentException("expected an image tensor [3,H,W] or [1,3,H,W], got " + x.getShape());
        }
        return convert(x, 1, s[s.length - 2], s[s.length - 1]).get(0);
    }

    /** Every image of a {@code [B,3,H,W]} float tensor (f32, f16 or bf16). */
    public static List<RgbImage> toImages(NDArray x) {
        long[] s = x.getShape().getShape();
        if (s.length != 4 || s[1] != 3) {
            throw new IllegalArgumentException("expected an image batch [B,3,H,W], got " + x.getShape());
        }
        return convert(x, s[0], s[2], s[3]);
    }

    /**
     * Images of one size as a float32 {@code [B,3,H,W]} tensor in [−1, 1] on {@code manager}:
     * {@code 2·(v / 255) − 1} in float32, so 0 → −1, 255 → 1, and {@link #toImages} gives the bytes back.
     */
    public static NDArray toTensor(List<RgbImage> images, NDManager manager) {
        if (images.isEmpty()) {
            throw new IllegalArgumentException("no images to convert");
        }
        int w = images.get(0).width();
        int h = images.get(0).height();
        int plane = w * h;
        float[] chw = new float[Math.multiplyExact(images.size(), 3 * plane)];
        for (int b = 0; b < images.size(); b++) {
            RgbImage image = images.get(b);
            if (image.width() != w || image.height() != h) {
                throw new IllegalArgumentException("images differ in size: " + w + "x" + h + " and "
                        + image.width() + "x" + image.height() + " (image " + b + ")");
            }
            byte[] rgb = image.bytes();
            for (int p = 0; p < plane; p++) {
                for (int c = 0; c < 3; c++) {
                    chw[(3 * b + c) * plane + p] = 2f * ((rgb[3 * p + c] & 0xFF) / 255f) - 1f;
                }
            }
        }
        return manager.create(chw, new Shape(images.size(), 3, h, w));
    }

    private static List<RgbImage> convert(NDArray x, long batch, long height, long width) {
        TensorType type = Precision.typeOf(x);
        if (!type.isFloatingPoint()) {
            throw new IllegalArgumentException("expected a floating-point image tensor, got " + type);
        }
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("empty image tensor " + x.getShape());
        }
        float[] values;
        NDArray f32 = Precision.toFloat32(x); // bf16 must be read through the kernels, never by DJL
        try {
            values = f32.toFloatArray();
        } finally {
            if (f32 != x) {
                f32.close();
            }
        }
        int h = Math.toIntExact(height);
        int w = Math.toIntExact(width);
        int plane = Math.multiplyExact(3, Math.multiplyExact(h, w));
        List<RgbImage> images = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            images.add(fromChw(values, b * plane, h, w, type));
        }
        return images;
    }

    /**
     * One image from planar {@code [3,H,W]} floats starting at {@code offset}, post-processed as a
     * tensor of dtype {@code type} would be.
     *
     * @throws IllegalArgumentException on NaN: a NaN pixel means a broken generation, which must not
     *     be saved as if it were an image (numpy would cast it to an arbitrary byte)
     */
    static RgbImage fromChw(float[] chw, int offset, int h, int w, TensorType type) {
        int plane = h * w;
        byte[] rgb = new byte[3 * plane];
        for (int c = 0; c < 3; c++) {
            for (int p = 0; p < plane; p++) {
                float x = chw[offset + c * plane + p];
                if (Float.isNaN(x)) {
                    throw new IllegalArgumentException("image tensor has NaN at channel " + c
                            + ", pixel (" + p % w + ", " + p / w + ")");
                }
                // each torch op computes in float and stores its result in the tensor's dtype
                float v = storeAs(type, storeAs(type, x / 2f) + 0.5f);
                v = Math.min(Math.max(v, 0f), 1f);
                rgb[3 * p + c] = (byte) Math.rint(v * 255f);
            }
        }
        return RgbImage.wrap(w, h, rgb);
    }

    /** {@code v} rounded to the nearest value of {@code type} (ties to even), as torch stores a result. */
    static float storeAs(TensorType type, float v) {
        switch (type) {
            case BF16:
                return roundToPrecision(v, 7, -126);
            case F16:
                return roundToPrecision(v, 10, -14);
            default:
                return v;
        }
    }

    /**
     * Rounds to a binary float format with {@code mantissaBits} fraction bits and smallest normal
     * exponent {@code minExponent} (subnormals below it share that exponent's spacing). Exact in
     * double: the scaled value has at most 24 significant bits.
     */
    private static float roundToPrecision(float v, int mantissaBits, int minExponent) {
        if (v == 0f || Float.isInfinite(v)) {
            return v;
        }
        double ulp = Math.scalb(1.0, Math.max(Math.getExponent(v), minExponent) - mantissaBits);
        return (float) (Math.rint(v / ulp) * ulp);
    }
}
