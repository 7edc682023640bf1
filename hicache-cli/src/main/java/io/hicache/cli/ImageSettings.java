package io.hicache.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.HiCacheVersion;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.image.GenerationParameters;
import io.hicache.core.runtime.TensorType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;

/**
 * Everything that decides an image's pixels besides its prompt and seed. Each image file carries
 * its full parameters ({@link #parameters}) as metadata; a rerun compares them to decide whether an
 * existing file is this run's image (skip it), or was made with other settings (refuse to mix).
 *
 * @param promptEmbeds file name of {@code --prompt-embeds}, or null
 * @param initNoise file name of {@code --init-noise}, or null
 * @param backendSettings the backend's own settings in effect (Chipmunk's), empty for none
 */
record ImageSettings(String backend, String model, TensorType dtype, String negativePrompt, int steps, int width,
        int height, double guidance, double trueCfgScale, CacheConfig cache, String promptEmbeds, String initNoise,
        java.util.Map<String, String> backendSettings) {

    /** Non-ASCII escaped, so the text fits a PNG tEXt chunk (Latin-1) and still round-trips exactly. */
    static final ObjectMapper JSON = JsonMapper.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();

    /** Written for information only; a new version of the launcher does not invalidate old images. */
    private static final String GENERATOR = "generator";

    /** The width of {@code job}'s image: its own (from its condition image) or the run's. */
    int width(Job job) {
        return job.size() != null ? job.size().width() : width;
    }

    /** The height of {@code job}'s image: its own (from its condition image) or the run's. */
    int height(Job job) {
        return job.size() != null ? job.size().height() : height;
    }

    /** The metadata of one image, as JSON. */
    String parameters(Job job) {
        ObjectNode p = JSON.createObjectNode();
        p.put("prompt", job.prompt());
        if (negativePrompt != null) {
            p.put("negative_prompt", negativePrompt);
        }
        p.put("seed", job.seed());
        p.put("index", job.index());
        p.put("steps", steps);
        p.put("width", width(job));
        p.put("height", height(job));
        if (job.image() != null) { // only edits carry it, so text-to-image records stay as they were
            p.put("image", job.image().path());
            p.put("image_size", job.image().size());
            p.put("image_sha256", job.image().sha256());
        }
        p.put("guidance", guidance);
        if (trueCfgScale != 1) { // only runs with true CFG carry it, so earlier images keep their records
            p.put("true_cfg_scale", trueCfgScale);
        }
        p.put("backend", backend);
        p.put("model", model);
        p.put("dtype", dtype.displayName());
        p.put("cache", cache.tag());
        if (!backendSettings.isEmpty()) { // only backends with settings write them, so earlier images keep their records
            p.set("backend_settings", JSON.valueToTree(backendSettings));
        }
        if (cache.mode() == CacheMode.HICACHE_ANALYTIC) {
            // its σ comes from the analytic parameters, which the tag leaves out
            p.set("cache_config", JSON.valueToTree(cache));
        }
        if (promptEmbeds != null) {
            p.put("prompt_embeds", promptEmbeds + "[" + job.promptIndex() + "]");
        }
        if (initNoise != null) {
            p.put("init_noise", initNoise + "[" + job.index() + "]");
        }
        p.put(GENERATOR, "hicache " + HiCacheVersion.get());
        try {
            return JSON.writeValueAsString(p);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The parameters as image tools show them (PNG text chunks). */
    GenerationParameters shown(Job job) {
        // an ordered map: the same image must give the same bytes in every JVM (Map.of's order is salted)
        java.util.Map<String, String> extra = new java.util.LinkedHashMap<>();
        extra.put("backend", backend);
        extra.put("dtype", dtype.displayName());
        if (job.image() != null) {
            extra.put("image", job.image().path());
            extra.put("image_size", job.image().size());
        }
        return new GenerationParameters(job.prompt(), negativePrompt, job.seed(), steps, guidance, width(job), height(job),
                cache.mode().displayName(), cache.mode().caches() ? cache.tag() : null, model, extra);
    }

    /** A short hash of an image's parameters, kept in the manifest to recognise finished images cheaply. */
    static String fingerprint(String parameters) {
        try {
            ObjectNode p = (ObjectNode) JSON.readTree(parameters);
            p.remove(GENERATOR);
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(JSON.writeValueAsString(p).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * How {@code found} (an existing file's parameters) differs from {@code wanted}: e.g.
     * {@code ["steps 20 (now 50)"]}; empty when they describe the same image.
     */
    static List<String> differences(String found, String wanted) {
        List<String> out = new ArrayList<>();
        JsonNode f;
        try {
            f = JSON.readTree(found);
        } catch (IOException e) {
            return List.of("unreadable parameters");
        }
        if (!f.isObject()) {
            return List.of("unreadable parameters");
        }
        JsonNode w;
        try {
            w = JSON.readTree(wanted);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (Iterator<String> names = w.fieldNames(); names.hasNext();) {
            String name = names.next();
            if (!name.equals(GENERATOR) && !w.get(name).equals(f.get(name))) {
                out.add(name + " " + describe(f.get(name)) + " (now " + describe(w.get(name)) + ")");
            }
        }
        for (Iterator<String> names = f.fieldNames(); names.hasNext();) {
            String name = names.next();
            if (!name.equals(GENERATOR) && !w.has(name)) {
                out.add(name + " " + describe(f.get(name)) + " (now none)");
            }
        }
        return out;
    }

    private static String describe(JsonNode v) {
        if (v == null) {
            return "none";
        }
        String s = v.isTextual() ? "'" + v.asText() + "'" : v.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }
}
