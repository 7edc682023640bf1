package io.hicache.core.util;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Typed reads of a model's {@code config.json}, failing with the file and field named. */
public final class ConfigJson {
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
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException(file + ": expected a JSON object");
        }
        return new ConfigJson(file, root);
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

    /** True when the field is present and not null. */
    public boolean has(String name) {
        return optional(name) != null;
    }

    public Path file() {
        return file;
    }

    private JsonNode field(String name) throws IOException {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            throw new IOException(file + ": missing field '" + name + "'");
        }
        return v;
    }

    private JsonNode optional(String name) {
        JsonNode v = root.get(name);
        return v == null || v.isNull() ? null : v;
    }

    public int requireInt(String name) throws IOException {
        JsonNode v = field(name);
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new IOException(file + ": field '" + name + "' must be an integer, got " + v);
        }
        return v.intValue();
    }

    public int getInt(String name, int fallback) throws IOException {
        return optional(name) == null ? fallback : requireInt(name);
    }

    public double requireDouble(String name) throws IOException {
        JsonNode v = field(name);
        if (!v.isNumber()) {
            throw new IOException(file + ": field '" + name + "' must be a number, got " + v);
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
            throw new IOException(file + ": field '" + name + "' must be true or false, got " + v);
        }
        return v.booleanValue();
    }

    public String getString(String name, String fallback) throws IOException {
        JsonNode v = optional(name);
        if (v == null) {
            return fallback;
        }
        if (!v.isTextual()) {
            throw new IOException(file + ": field '" + name + "' must be a string, got " + v);
        }
        return v.asText();
    }

    public int[] requireIntArray(String name) throws IOException {
        JsonNode v = field(name);
        if (!v.isArray() || v.size() == 0) {
            throw new IOException(file + ": field '" + name + "' must be a non-empty array of integers, got " + v);
        }
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            if (!v.get(i).isIntegralNumber()) {
                throw new IOException(file + ": field '" + name + "' must hold integers, got " + v);
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
            throw new IOException(file + ": field '" + name + "' must be an array of strings, got " + v);
        }
        for (JsonNode e : v) {
            out.add(e.asText());
        }
        return out;
    }

    /** An error about this file, for checks that span several fields. */
    public IOException invalid(String message) {
        return new IOException(file + ": " + message);
    }
}
