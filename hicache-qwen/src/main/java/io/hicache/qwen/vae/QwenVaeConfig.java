package io.hicache.qwen.vae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * {@code vae/config.json} of {@code AutoencoderKLQwenImage} (docs/qwen-image.md §2, §7): base_dim 96,
 * z_dim 16, dim_mult [1, 2, 4, 4], num_res_blocks 2, attn_scales [], temperal_downsample
 * [false, true, true], and the 16 per-channel {@code latents_mean} / {@code latents_std} that map the
 * transformer's normalised latents back to the VAE's: z = x·std + mean. Read strictly: every key the
 * decoder depends on must be present, unknown keys and attention at other scales are refused.
 */
public final class QwenVaeConfig {
    public static final String CLASS_NAME = "AutoencoderKLQwenImage";
    /** Image channels of the decoder output. */
    public static final int IMAGE_CHANNELS = 3;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> KEYS = List.of("base_dim", "z_dim", "dim_mult", "num_res_blocks", "attn_scales",
            "temperal_downsample", "dropout", "latents_mean", "latents_std");

    public final int baseDim;
    public final int zDim;
    private final int[] dimMult;
    public final int numResBlocks;
    private final boolean[] temperalDownsample;
    private final double[] latentsMean;
    private final double[] latentsStd;

    public QwenVaeConfig(int baseDim, int zDim, int[] dimMult, int numResBlocks, boolean[] temperalDownsample,
            double[] latentsMean, double[] latentsStd) {
        this.baseDim = baseDim;
        this.zDim = zDim;
        this.dimMult = dimMult.clone();
        this.numResBlocks = numResBlocks;
        this.temperalDownsample = temperalDownsample.clone();
        this.latentsMean = latentsMean.clone();
        this.latentsStd = latentsStd.clone();
        check(baseDim > 0 && zDim > 0 && numResBlocks > 0, "base_dim, z_dim and num_res_blocks must be positive");
        check(dimMult.length >= 2, "dim_mult needs at least 2 levels, got " + Arrays.toString(dimMult));
        for (int m : dimMult) {
            check(m > 0 && (baseDim * m) % 2 == 0, "dim_mult entries must be positive and give even widths: "
                    + Arrays.toString(dimMult));
        }
        check(temperalDownsample.length == dimMult.length - 1, "temperal_downsample needs " + (dimMult.length - 1)
                + " entries (one per downsampling), got " + temperalDownsample.length);
        check(latentsMean.length == zDim && latentsStd.length == zDim, "latents_mean and latents_std need z_dim = "
                + zDim + " entries, got " + latentsMean.length + " and " + latentsStd.length);
        for (double s : latentsStd) {
            check(Double.isFinite(s) && s > 0, "latents_std entries must be positive, got " + s);
        }
        for (double m : latentsMean) {
            check(Double.isFinite(m), "latents_mean entries must be finite, got " + m);
        }
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Qwen-Image's VAE. */
    public static QwenVaeConfig qwenImage() {
        return new QwenVaeConfig(96, 16, new int[] {1, 2, 4, 4}, 2, new boolean[] {false, true, true},
                new double[] {-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508, 0.4134, -0.0715,
                    0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921},
                new double[] {2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743, 3.2687, 2.1526, 2.8652,
                    1.5579, 1.6382, 1.1253, 2.8251, 1.9160});
    }

    /** Reads {@code vae/config.json} (or the config in directory {@code vaeDir}); errors name the file. */
    public static QwenVaeConfig read(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve("config.json") : path;
        try {
            return fromJson(Files.readString(file));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    public static QwenVaeConfig fromJson(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("VAE config is not valid JSON: " + e.getMessage(), e);
        }
        check(root != null && root.isObject(), "VAE config is not a JSON object");
        String cls = root.path("_class_name").asText("");
        check(cls.equals(CLASS_NAME), "not a Qwen-Image VAE config: _class_name is '" + cls + "', expected " + CLASS_NAME);
        List<String> unknown = new ArrayList<>();
        for (Iterator<String> it = root.fieldNames(); it.hasNext();) {
            String k = it.next();
            if (!k.startsWith("_") && !KEYS.contains(k)) {
                unknown.add(k);
            }
        }
        check(unknown.isEmpty(), "unknown keys " + unknown + " (a variant this implementation does not know)");
        List<String> missing = new ArrayList<>();
        for (String k : KEYS) {
            if (!k.equals("dropout") && (root.get(k) == null || root.get(k).isNull())) {
                missing.add(k);
            }
        }
        check(missing.isEmpty(), "missing keys " + missing);
        check(root.get("attn_scales").isArray() && root.get("attn_scales").isEmpty(),
                "attn_scales must be [] (attention only in the mid blocks), got " + root.get("attn_scales"));
        JsonNode td = root.get("temperal_downsample");
        check(td.isArray(), "temperal_downsample must be an array of booleans");
        boolean[] temporal = new boolean[td.size()];
        for (int i = 0; i < temporal.length; i++) {
            check(td.get(i).isBoolean(), "temperal_downsample must hold booleans, got " + td);
            temporal[i] = td.get(i).asBoolean();
        }
        return new QwenVaeConfig(integer(root, "base_dim"), integer(root, "z_dim"), ints(root, "dim_mult"),
                integer(root, "num_res_blocks"), temporal, doubles(root, "latents_mean"), doubles(root, "latents_std"));
    }

    private static int integer(JsonNode root, String key) {
        JsonNode v = root.get(key);
        check(v.isIntegralNumber() && v.canConvertToInt(), key + " must be an integer, got " + v);
        return v.asInt();
    }

    private static int[] ints(JsonNode root, String key) {
        JsonNode v = root.get(key);
        check(v.isArray(), key + " must be an array, got " + v);
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            check(v.get(i).isIntegralNumber(), key + " must hold integers, got " + v);
            out[i] = v.get(i).asInt();
        }
        return out;
    }

    private static double[] doubles(JsonNode root, String key) {
        JsonNode v = root.get(key);
        check(v.isArray(), key + " must be an array, got " + v);
        double[] out = new double[v.size()];
        for (int i = 0; i < out.length; i++) {
            check(v.get(i).isNumber(), key + " must hold numbers, got " + v);
            out[i] = v.get(i).asDouble();
        }
        return out;
    }

    /** The config as diffusers writes {@code vae/config.json}. */
    public String toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("_class_name", CLASS_NAME);
        n.put("_diffusers_version", "0.34.0.dev0");
        n.putArray("attn_scales");
        n.put("base_dim", baseDim);
        ArrayNode dm = n.putArray("dim_mult");
        for (int m : dimMult) {
            dm.add(m);
        }
        n.put("dropout", 0.0);
        ArrayNode mean = n.putArray("latents_mean");
        for (double v : latentsMean) {
            mean.add(v);
        }
        ArrayNode std = n.putArray("latents_std");
        for (double v : latentsStd) {
            std.add(v);
        }
        n.put("num_res_blocks", numResBlocks);
        ArrayNode td = n.putArray("temperal_downsample");
        for (boolean b : temperalDownsample) {
            td.add(b);
        }
        n.put("z_dim", zDim);
        return n.toPrettyString() + "\n";
    }

    public int[] dimMult() {
        return dimMult.clone();
    }

    /** Whether down level {@code i} also halves time (encoder); the decoder's up level i mirrors entry n−1−i. */
    public boolean temperalDownsample(int i) {
        return temperalDownsample[i];
    }

    public int levels() {
        return dimMult.length;
    }

    public double[] latentsMean() {
        return latentsMean.clone();
    }

    public double[] latentsStd() {
        return latentsStd.clone();
    }

    /** Pixels per latent pixel along each side: 2^(levels − 1) = 8. */
    public int scaleFactor() {
        return 1 << (dimMult.length - 1);
    }

    /**
     * Widths of the decoder's stages: base·[dim_mult[−1], reversed dim_mult…], e.g. [384, 384, 384, 192,
     * 96]: conv_in and the mid block at entry 0, up block i from entry i to i + 1.
     */
    public int[] decoderDims() {
        int n = dimMult.length;
        int[] d = new int[n + 1];
        d[0] = baseDim * dimMult[n - 1];
        for (int i = 0; i < n; i++) {
            d[i + 1] = baseDim * dimMult[n - 1 - i];
        }
        return d;
    }

    /** Widths of the encoder's stages: base·[1, dim_mult…], e.g. [96, 96, 192, 384, 384]. */
    public int[] encoderDims() {
        int n = dimMult.length;
        int[] d = new int[n + 1];
        d[0] = baseDim;
        for (int i = 0; i < n; i++) {
            d[i + 1] = baseDim * dimMult[i];
        }
        return d;
    }
}
