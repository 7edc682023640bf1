package io.hicache.qwen.vision;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.image.Resampling;
import io.hicache.core.util.AtomicFiles;
import io.hicache.core.util.ConfigJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The fields of {@code processor/preprocessor_config.json} ({@code Qwen2VLImageProcessor}) that
 * decide the vision tower's input. Absent fields take the defaults of transformers'
 * {@code Qwen2VLImageProcessor}; present fields must hold valid values.
 *
 * @param minPixels smallest resized area ({@code min_pixels}, else {@code size.shortest_edge}; default 56·56)
 * @param maxPixels largest resized area ({@code max_pixels}, else {@code size.longest_edge}; default 28·28·1280)
 * @param patchSize side of a ViT patch ({@code patch_size}, 14)
 * @param temporalPatchSize frames per patch ({@code temporal_patch_size}, 2)
 * @param mergeSize patches merged per side into one LM token ({@code merge_size}, 2)
 * @param rescaleFactor factor from 0..255 levels to the normalised range ({@code rescale_factor}, 1/255)
 * @param imageMean per-channel mean, as float32 ({@code image_mean}, OpenAI CLIP's)
 * @param imageStd per-channel standard deviation, as float32 ({@code image_std}, OpenAI CLIP's)
 * @param resample the resize filter ({@code resample}: PIL's 3 = BICUBIC, the default, or 1 = LANCZOS)
 */
public record VisionPreprocessorConfig(long minPixels, long maxPixels, int patchSize, int temporalPatchSize,
        int mergeSize, double rescaleFactor, float[] imageMean, float[] imageStd, Resampling.Filter resample) {
    public static final String FILE = "preprocessor_config.json";
    /** transformers' {@code OPENAI_CLIP_MEAN}. */
    public static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};
    /** transformers' {@code OPENAI_CLIP_STD}. */
    public static final double[] CLIP_STD = {0.26862954, 0.26130258, 0.27577711};
    /** {@code Qwen2VLImageProcessor}'s default {@code min_pixels}: 56·56. */
    public static final long DEFAULT_MIN_PIXELS = 56L * 56;
    /** {@code Qwen2VLImageProcessor}'s default {@code max_pixels}: 28·28·1280. */
    public static final long DEFAULT_MAX_PIXELS = 28L * 28 * 1280;
    /** PIL's resampling codes, as stored in {@code resample}. */
    private static final int PIL_LANCZOS = 1;
    private static final int PIL_BICUBIC = 3;

    public VisionPreprocessorConfig {
        imageMean = imageMean.clone();
        imageStd = imageStd.clone();
        if (minPixels < 1 || maxPixels < minPixels) {
            throw new IllegalArgumentException("need 1 <= min_pixels <= max_pixels, got " + minPixels + " and " + maxPixels);
        }
        if (patchSize < 1 || patchSize > 1024 || temporalPatchSize < 1 || temporalPatchSize > 64 || mergeSize < 1
                || mergeSize > 64) {
            throw new IllegalArgumentException("patch_size " + patchSize + ", temporal_patch_size " + temporalPatchSize
                    + ", merge_size " + mergeSize + " out of range");
        }
        if (!(rescaleFactor > 0) || Double.isInfinite(rescaleFactor)) {
            throw new IllegalArgumentException("rescale_factor must be a positive number, got " + rescaleFactor);
        }
        if (imageMean.length != 3 || imageStd.length != 3) {
            throw new IllegalArgumentException("image_mean and image_std need 3 values (R, G, B)");
        }
        for (int c = 0; c < 3; c++) {
            if (!Float.isFinite(imageMean[c]) || !(imageStd[c] > 0) || Float.isInfinite(imageStd[c])) {
                throw new IllegalArgumentException("image_mean must be finite and image_std positive, got "
                        + Arrays.toString(imageMean) + " and " + Arrays.toString(imageStd));
            }
        }
        if (resample == null) {
            throw new IllegalArgumentException("resample filter missing");
        }
    }

    /** The side the resized image is a multiple of: {@code patchSize · mergeSize}. */
    public int factor() {
        return patchSize * mergeSize;
    }

    @Override
    public float[] imageMean() {
        return imageMean.clone();
    }

    @Override
    public float[] imageStd() {
        return imageStd.clone();
    }

    /** Every field at {@code Qwen2VLImageProcessor}'s default. */
    public static VisionPreprocessorConfig defaults() {
        return new VisionPreprocessorConfig(DEFAULT_MIN_PIXELS, DEFAULT_MAX_PIXELS, 14, 2, 2, 1 / 255.0,
                toFloat(CLIP_MEAN), toFloat(CLIP_STD), Resampling.Filter.BICUBIC);
    }

    /**
     * The values Qwen2.5-VL-7B-Instruct's processor ships ({@code max_pixels} 12,845,056), which
     * Qwen-Image-Edit's {@code processor} folder is expected to hold. For tiny test models only: a real
     * model's values are always read from its own file, never assumed.
     */
    public static VisionPreprocessorConfig qwenImageEdit() {
        return new VisionPreprocessorConfig(3136, 12_845_056, 14, 2, 2, 1 / 255.0, toFloat(CLIP_MEAN), toFloat(CLIP_STD),
                Resampling.Filter.BICUBIC);
    }

    private static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    /** Reads {@code processorDir/preprocessor_config.json}. */
    public static VisionPreprocessorConfig read(Path processorDir) throws IOException {
        Path file = processorDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "missing " + FILE);
        }
        JsonNode root = ConfigJson.readObject(file);
        ConfigJson c = new ConfigJson(file, root);
        for (String flag : new String[] {"do_resize", "do_rescale", "do_normalize"}) {
            if (!c.getBoolean(flag, true)) {
                throw c.invalid(flag + " is false: only the standard resize, rescale and normalize are implemented");
            }
        }
        JsonNode size = root.get("size");
        if (size != null && !size.isNull() && !size.isObject()) {
            throw c.invalid("field 'size' must be an object, got " + size);
        }
        long minPixels = pixels(c, root, "min_pixels", "shortest_edge", DEFAULT_MIN_PIXELS);
        long maxPixels = pixels(c, root, "max_pixels", "longest_edge", DEFAULT_MAX_PIXELS);
        int resampleCode = c.getInt("resample", PIL_BICUBIC);
        Resampling.Filter resample = switch (resampleCode) {
            case PIL_BICUBIC -> Resampling.Filter.BICUBIC;
            case PIL_LANCZOS -> Resampling.Filter.LANCZOS;
            default -> throw c.invalid("resample " + resampleCode
                    + " is not supported (3 = BICUBIC, the Qwen2-VL default, or 1 = LANCZOS)");
        };
        try {
            return new VisionPreprocessorConfig(minPixels, maxPixels,
                    c.getInt("patch_size", 14, 1, 1024),
                    c.getInt("temporal_patch_size", 2, 1, 64),
                    c.getInt("merge_size", 2, 1, 64),
                    c.getDouble("rescale_factor", 1 / 255.0),
                    channels(c, root, "image_mean", CLIP_MEAN),
                    channels(c, root, "image_std", CLIP_STD),
                    resample);
        } catch (IllegalArgumentException e) {
            throw c.invalid(e.getMessage());
        }
    }

    /**
     * {@code key} if present, else {@code size.sizeKey} if present, else the default: transformers
     * lets {@code min_pixels}/{@code max_pixels} override {@code size}.
     */
    private static long pixels(ConfigJson c, JsonNode root, String key, String sizeKey, long fallback)
            throws IOException {
        // A null value means "not given", as transformers' keyword default None does.
        JsonNode v = root.get(key);
        String name = key;
        if (v == null || v.isNull()) {
            v = null;
            JsonNode size = root.get("size");
            if (size != null && size.isObject() && size.hasNonNull(sizeKey)) {
                v = size.get(sizeKey);
                name = "size." + sizeKey;
            }
        }
        if (v == null) {
            return fallback;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 1) {
            throw c.invalid("field '" + name + "' must be a positive integer, got " + v);
        }
        return v.longValue();
    }

    /** Three per-channel values, or one number for all channels (transformers accepts both). */
    private static float[] channels(ConfigJson c, JsonNode root, String key, double[] fallback) throws IOException {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) { // null: transformers' "not given"
            return toFloat(fallback);
        }
        double[] d;
        if (v.isNumber()) {
            d = new double[] {v.doubleValue(), v.doubleValue(), v.doubleValue()};
        } else if (v.isArray() && v.size() == 3) {
            d = new double[3];
            for (int i = 0; i < 3; i++) {
                if (!v.get(i).isNumber()) {
                    throw c.invalid("field '" + key + "' must be 3 numbers, got " + v);
                }
                d[i] = v.get(i).doubleValue();
            }
        } else {
            throw c.invalid("field '" + key + "' must be 3 numbers, got " + v);
        }
        return toFloat(d);
    }

    /**
     * Writes this config as {@code processorDir/preprocessor_config.json}, in the layout of the files
     * transformers saves (both {@code min_pixels}/{@code max_pixels} and {@code size}).
     */
    public void write(Path processorDir) throws IOException {
        Files.createDirectories(processorDir);
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("do_convert_rgb", true);
        o.put("do_normalize", true);
        o.put("do_rescale", true);
        o.put("do_resize", true);
        double[] mean = new double[3];
        double[] std = new double[3];
        for (int i = 0; i < 3; i++) {
            // The float32 values print as their shortest decimal, which reads back to the same float.
            mean[i] = Double.parseDouble(Float.toString(imageMean[i]));
            std[i] = Double.parseDouble(Float.toString(imageStd[i]));
        }
        Arrays.stream(mean).forEach(o.putArray("image_mean")::add);
        o.put("image_processor_type", "Qwen2VLImageProcessor");
        Arrays.stream(std).forEach(o.putArray("image_std")::add);
        o.put("max_pixels", maxPixels);
        o.put("merge_size", mergeSize);
        o.put("min_pixels", minPixels);
        o.put("patch_size", patchSize);
        o.put("processor_class", "Qwen2_5_VLProcessor");
        o.put("resample", resample == Resampling.Filter.BICUBIC ? PIL_BICUBIC : PIL_LANCZOS);
        o.put("rescale_factor", rescaleFactor);
        o.putObject("size").put("longest_edge", maxPixels).put("shortest_edge", minPixels);
        o.put("temporal_patch_size", temporalPatchSize);
        AtomicFiles.writeString(processorDir.resolve(FILE), o.toPrettyString() + "\n");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VisionPreprocessorConfig v && v.minPixels == minPixels && v.maxPixels == maxPixels
                && v.patchSize == patchSize && v.temporalPatchSize == temporalPatchSize && v.mergeSize == mergeSize
                && Double.compare(v.rescaleFactor, rescaleFactor) == 0 && Arrays.equals(v.imageMean, imageMean)
                && Arrays.equals(v.imageStd, imageStd) && v.resample == resample;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new Object[] {minPixels, maxPixels, patchSize, temporalPatchSize, mergeSize, rescaleFactor,
            Arrays.hashCode(imageMean), Arrays.hashCode(imageStd), resample});
    }

    @Override
    public String toString() {
        return "VisionPreprocessorConfig[min_pixels=" + minPixels + ", max_pixels=" + maxPixels + ", patch_size="
                + patchSize + ", temporal_patch_size=" + temporalPatchSize + ", merge_size=" + mergeSize
                + ", rescale_factor=" + rescaleFactor + ", image_mean=" + Arrays.toString(imageMean) + ", image_std="
                + Arrays.toString(imageStd) + ", resample=" + resample + "]";
    }
}
