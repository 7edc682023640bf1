package io.hicache.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The subset of YAML that configuration files such as Chipmunk's use, flattened to dotted keys:
 * nested mappings by indentation ({@code attn:} then {@code   top_keys: 0.15} gives
 * {@code attn.top_keys = 0.15}), plain or quoted scalars, {@code null}/{@code ~}, flow lists
 * {@code [0, 10]} and block lists ({@code - 10}) as comma lists, and {@code #} comments. Anything
 * else (anchors, multi-line strings, several documents) is refused with the line it is on.
 */
final class FlatYaml {
    private FlatYaml() {}

    /** Reads {@code file}; a problem is a {@link UsageException} naming the file and line. */
    static Map<String, String> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UsageException(Errors.about(file, e), e);
        }
        return parse(lines, file.toString());
    }

    static Map<String, String> parse(List<String> lines, String name) {
        Map<String, String> out = new LinkedHashMap<>();
        // open mappings: their indentation and dotted key
        Deque<Object[]> open = new ArrayDeque<>();
        String listKey = null;
        int listIndent = -1;
        List<String> listItems = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String raw = stripComment(lines.get(i));
            if (raw.isBlank() || raw.strip().equals("---")) {
                continue;
            }
            int indent = raw.length() - raw.stripLeading().length();
            String text = raw.strip();
            String where = name + ": line " + (i + 1);
            if (raw.substring(0, indent).contains("\t")) {
                throw new UsageException(where + ": tabs are not allowed for indentation");
            }
            if (text.startsWith("- ") || text.equals("-")) {
                if (listKey == null || indent < listIndent) {
                    throw new UsageException(where + ": a list item without a key above it");
                }
                listItems.add(scalar(text.substring(1).strip(), where));
                continue;
            }
            if (listKey != null) {
                // after 'key:' come its list items, a deeper mapping, or nothing (a null value)
                if (!listItems.isEmpty()) {
                    out.put(listKey, String.join(",", listItems));
                } else if (indent <= listIndent) {
                    out.put(listKey, "none");
                }
                listKey = null;
                listItems.clear();
            }
            int colon = keyEnd(text);
            if (colon < 0) {
                throw new UsageException(where + ": expected 'key: value', got '" + Errors.abbreviate(text) + "'");
            }
            String key = unquote(text.substring(0, colon).strip());
            String value = text.substring(colon + 1).strip();
            while (!open.isEmpty() && (int) open.peek()[0] >= indent) {
                open.pop();
            }
            String path = open.isEmpty() ? key : open.peek()[1] + "." + key;
            if (value.isEmpty()) {
                // a mapping or a block list follows (or nothing: a null value)
                open.push(new Object[] {indent, path});
                listKey = path;
                listIndent = indent;
                continue;
            }
            if (value.startsWith("&") || value.startsWith("*") || value.startsWith("|") || value.startsWith(">")
                    || value.startsWith("{")) {
                throw new UsageException(where + ": anchors, block scalars and flow mappings are not supported");
            }
            out.put(path, value.startsWith("[") ? flowList(value, where) : scalar(value, where));
        }
        if (listKey != null) {
            out.put(listKey, listItems.isEmpty() ? "none" : String.join(",", listItems));
        }
        return out;
    }

    /** The colon that ends a key: followed by a space or the end of the line. */
    private static int keyEnd(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) == ':' && (i + 1 == text.length() || text.charAt(i + 1) == ' ')) {
                return i;
            }
        }
        return -1;
    }

    private static String stripComment(String line) {
        boolean quoted = false;
        char quote = 0;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                quoted = c != quote;
            } else if (c == '"' || c == '\'') {
                quoted = true;
                quote = c;
            } else if (c == '#' && (i == 0 || Character.isWhitespace(line.charAt(i - 1)))) {
                return line.substring(0, i);
            }
        }
        return line;
    }

    private static String flowList(String value, String where) {
        if (!value.endsWith("]")) {
            throw new UsageException(where + ": a list must close on its line: '" + Errors.abbreviate(value) + "'");
        }
        String inner = value.substring(1, value.length() - 1).strip();
        List<String> items = new ArrayList<>();
        if (!inner.isEmpty()) {
            for (String part : inner.split(",", -1)) {
                items.add(scalar(part.strip(), where));
            }
        }
        return String.join(",", items);
    }

    private static String scalar(String value, String where) {
        if (value.equals("~") || value.equals("null") || value.equals("Null") || value.equals("NULL")) {
            return "none";
        }
        if (value.startsWith("[")) {
            throw new UsageException(where + ": nested lists are not supported");
        }
        return unquote(value);
    }

    private static String unquote(String s) {
        if (s.length() >= 2 && (s.startsWith("\"") && s.endsWith("\"") || s.startsWith("'") && s.endsWith("'"))) {
            return s.substring(1, s.length() - 1);
        }
        return s;
    }
}
