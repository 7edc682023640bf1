package io.hicache.core.util;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.pipeline.InvalidModelException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed reads of a model's {@code config.json}, failing with the file and field named. Reads are
 * strict: an integer field must hold an integer that fits an int (not 2.5, 4294967298, "two" or
 * null), and a field that is present is never replaced by a default. Defaults apply only to absent
 * fields, and callers pass the default the config's library (diffusers, transformers) itself uses.
 */
public final class ConfigJson {
    /*
     * Sane bounds for config sizes, far above any released model (FLUX.1: 57 blocks, width 3072,
     * T5-XXL: 24 layers, width 10240, vocabulary 32128): a value beyond them is a damaged file, and
     * refusing it keeps a typo from allocating billions of layer descriptions before the checkpoint
     * is even compared.
     */
    public static final int MAX_LAYERS = 1024;
    public static final int MAX_WIDTH = 1 << 17;
    public static final int MAX_HEADS = 1024;
    /** Per-head width: heads × head width must stay well inside an int. */
    public static final int MAX_HEAD_DIM = 1 << 12;
    public static final int MAX_VOCABULARY = 1 << 22;
    public static final int MAX_POSITIONS = 1 << 16;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final JsonNode root;

    public ConfigJson(Path file, JsonNode root) {
        this.file = file;
        this.root = root;
    }

    /** Parses {@code file}, which must exist and hold a JSON object. */
    public static ConfigJson read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "missing " + file.getFileName());
        }
        return new ConfigJson(file, readObject(file));
    }

    /** Parses {@code file} as a JSON object (Jackson names a byte that is not UTF-8 and where it is). */
    public static JsonNode readObject(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            String at = e.getLocation() == null ? ""
                    : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
            throw new InvalidModelException(file + ": not valid JSON: " + e.getOriginalMessage() + at, e);
        }
        if (root == null || !root.isObject()) {
            throw new InvalidModelException(file + ": expected a JSON object");
        }
        return root;
    }

    /** The object field {@code name} as its own config (same file, for messages), or null when absent. */
    public ConfigJson getObject(String name) throws IOException {
        JsonNode v = optional(name);
        if (v == null) {
            return null;
        }
        if (!v.isObject()) {
            throw new IOException(file + ": field '" + name + "' must be an object, got " + v);
        }
        return new ConfigJson(file, v);
    }

    public Path file() {
        return file;
    }

    private JsonNode field(String name) throws IOException {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            throw invalid("missing field '" + name + "'");
        }
        return v;
    }

    private JsonNode optional(String name) {
        JsonNode v = root.get(name);
        return v == null || v.isNull() ? null : v;
    }

    /** True when {@code name} is present with the value null. */
    public boolean isNull(String name) {
        return root.has(name) && root.get(name).isNull();
    }

    /** True when the file has {@code name}, even with the value null. */
    public boolean has(String name) {
        return root.has(name);
    }

    public int requireInt(String name) throws IOException {
        JsonNode v = field(name);
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw invalid("field '" + name + "' must be an integer, got " + v);
        }
        return v.intValue();
    }

    /** An integer in {@code [min, max]}: sizes outside it cannot be a model this code can build. */
    public int requireInt(String name, int min, int max) throws IOException {
        return inRange(name, requireInt(name), min, max);
    }

    /** {@code fallback} when the field is absent; null counts as present (and is refused). */
    public int getInt(String name, int fallback) throws IOException {
        if (!root.has(name)) {
            return fallback;
        }
        JsonNode v = root.get(name);
        if (v.isNull()) {
            throw invalid("field '" + name + "' must be an integer, got null");
        }
        return requireInt(name);
    }

    public int getInt(String name, int fallback, int min, int max) throws IOException {
        return inRange(name, getInt(name, fallback), min, max);
    }

    private int inRange(String name, int v, int min, int max) throws IOException {
        if (v < min || v > max) {
            throw invalid("field '" + name + "' must be in [" + min + ", " + max + "], got " + v);
        }
        return v;
    }

    public double requireDouble(String name) throws IOException {
        JsonNode v = field(name);
        if (!v.isNumber() || !Double.isFinite(v.doubleValue())) {
            throw invalid("field '" + name + "' must be a finite number, got " + v);
        }
        return v.doubleValue();
    }

    public double getDouble(String name, double fallback) throws IOException {
        return optional(name) == null ? fallback : requireDouble(name);
    }

    public boolean getBoolean(String name, boolean fallback) throws IOException {
        JsonNode v = optional(name);
        if (v == null) {
            return fallback;
        }
        if (!v.isBoolean()) {
            throw invalid("field '" + name + "' must be true or false, got " + v);
        }
        return v.booleanValue();
    }

    public String getString(String name, String fallback) throws IOException {
        JsonNode v = optional(name);
        if (v == null) {
            return fallback;
        }
        if (!v.isTextual()) {
            throw invalid("field '" + name + "' must be a string, got " + v);
        }
        return v.asText();
    }

    public int[] requireIntArray(String name) throws IOException {
        JsonNode v = field(name);
        if (!v.isArray() || v.size() == 0) {
            throw invalid("field '" + name + "' must be a non-empty array of integers, got " + v);
        }
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            if (!v.get(i).isIntegralNumber() || !v.get(i).canConvertToInt()) {
                throw invalid("field '" + name + "' must hold integers, got " + v);
            }
            out[i] = v.get(i).intValue();
        }
        return out;
    }

    public List<String> getStringArray(String name) throws IOException {
        JsonNode v = optional(name);
        List<String> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        if (!v.isArray()) {
            throw invalid("field '" + name + "' must be an array of strings, got " + v);
        }
        for (JsonNode e : v) {
            if (!e.isTextual()) {
                throw invalid("field '" + name + "' must be an array of strings, got " + v);
            }
            out.add(e.asText());
        }
        return out;
    }

    /** An error about this file, for checks that span several fields. */
    public InvalidModelException invalid(String message) {
        return new InvalidModelException(file + ": " + message);
    }
}
