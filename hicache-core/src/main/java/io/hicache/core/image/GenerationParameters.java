package io.hicache.core.image;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How an image was made, in the form image tools store it in PNG text chunks: one key per field
 * ({@code prompt}, {@code seed}, ...) for programs, plus an Automatic1111-style {@code parameters}
 * value that people and many image viewers read:
 *
 * <pre>
 * a red fox in snow
 * Negative prompt: blurry
 * Steps: 50, Seed: 0, Guidance: 3.5, Size: 1024x1024, Mode: HiCache, Cache: "interval=7, max_order=2", Model: FLUX.1-dev
 * </pre>
 *
 * @param negativePrompt null when the backend uses none
 * @param cache the cache configuration as text, null for uncached generation
 * @param model null when unknown
 * @param extra further keys (backend, dtype, version, ...), written after the standard ones in order
 */
public record GenerationParameters(String prompt, String negativePrompt, long seed, int steps, double guidance,
        int width, int height, String mode, String cache, String model, Map<String, String> extra) {

    /** The PNG text keys of the fields, in the order they are written. */
    public static final List<String> STANDARD_KEYS = List.of(
            "parameters", "prompt", "negative_prompt", "seed", "steps", "guidance", "size", "mode", "cache", "model");

    public GenerationParameters {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(extra, "extra");
        for (String key : extra.keySet()) {
            if (STANDARD_KEYS.contains(key)) {
                throw new IllegalArgumentException("extra key '" + key + "' collides with a standard key");
            }
        }
        extra = Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    }

    /** The text chunks to embed: {@code parameters}, the individual fields (nulls left out), then extras. */
    public Map<String, String> toPngText() {
        Map<String, String> text = new LinkedHashMap<>();
        text.put("parameters", a1111Parameters());
        text.put("prompt", prompt);
        putIfPresent(text, "negative_prompt", negativePrompt);
        text.put("seed", Long.toString(seed));
        text.put("steps", Integer.toString(steps));
        text.put("guidance", Double.toString(guidance));
        text.put("size", width + "x" + height);
        text.put("mode", mode);
        putIfPresent(text, "cache", cache);
        putIfPresent(text, "model", model);
        text.putAll(extra);
        return text;
    }

    /**
     * Reads back what {@link #toPngText()} wrote (the individual keys; {@code parameters} is for
     * people). Keys other than the standard ones become {@link #extra()}.
     *
     * @throws IllegalArgumentException when a required key is missing or malformed
     */
    public static GenerationParameters fromPngText(Map<String, String> text) {
        String size = required(text, "size");
        int x = size.indexOf('x');
        if (x < 0) {
            throw new IllegalArgumentException("malformed size '" + size + "', expected WIDTHxHEIGHT");
        }
        Map<String, String> extra = new LinkedHashMap<>(text);
        extra.keySet().removeAll(STANDARD_KEYS);
        try {
            return new GenerationParameters(required(text, "prompt"), text.get("negative_prompt"),
                    Long.parseLong(required(text, "seed")), Integer.parseInt(required(text, "steps")),
                    Double.parseDouble(required(text, "guidance")),
                    Integer.parseInt(size.substring(0, x)), Integer.parseInt(size.substring(x + 1)),
                    required(text, "mode"), text.get("cache"), text.get("model"), extra);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("malformed generation parameters: " + e.getMessage(), e);
        }
    }

    /**
     * The Automatic1111 {@code parameters} text: prompt, optional negative prompt, one line of settings.
     * Line breaks in the prompts are written as {@code \n} (and {@code \r}): readers take each line for
     * a field, so a prompt must not be able to add lines such as {@code Steps: 999}. The exact prompts
     * are in their own keys.
     */
    public String a1111Parameters() {
        StringBuilder s = new StringBuilder(oneLine(prompt));
        if (negativePrompt != null) {
            s.append("\nNegative prompt: ").append(oneLine(negativePrompt));
        }
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("Steps", Integer.toString(steps));
        settings.put("Seed", Long.toString(seed));
        settings.put("Guidance", Double.toString(guidance));
        settings.put("Size", width + "x" + height);
        settings.put("Mode", mode);
        putIfPresent(settings, "Cache", cache);
        putIfPresent(settings, "Model", model);
        settings.putAll(extra);
        String sep = "\n";
        for (Map.Entry<String, String> e : settings.entrySet()) {
            s.append(sep).append(e.getKey()).append(": ").append(quote(e.getValue()));
            sep = ", ";
        }
        return s.toString();
    }

    /**
     * A1111's rule: a value containing a comma, colon or newline would break the "key: value, ..."
     * line, so it is written as a JSON string.
     */
    private static String quote(String v) {
        if (v.indexOf(',') < 0 && v.indexOf(':') < 0 && v.indexOf('\n') < 0) {
            return v;
        }
        StringBuilder q = new StringBuilder("\"");
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '"':
                    q.append("\\\"");
                    break;
                case '\\':
                    q.append("\\\\");
                    break;
                case '\n':
                    q.append("\\n");
                    break;
                case '\r':
                    q.append("\\r");
                    break;
                case '\t':
                    q.append("\\t");
                    break;
                default:
                    if (c < 0x20) {
                        q.append(String.format("\\u%04x", (int) c));
                    } else {
                        q.append(c);
                    }
            }
        }
        return q.append('"').toString();
    }

    private static String oneLine(String text) {
        return text.replace("\r", "\\r").replace("\n", "\\n");
    }

    private static String required(Map<String, String> text, String key) {
        String v = text.get(key);
        if (v == null) {
            throw new IllegalArgumentException("PNG metadata has no '" + key + "'");
        }
        return v;
    }

    private static void putIfPresent(Map<String, String> map, String key, String value) {
        if (value != null) {
            map.put(key, value);
        }
    }
}
