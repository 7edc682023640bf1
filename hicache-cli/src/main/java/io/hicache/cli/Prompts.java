package io.hicache.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Reads prompt lists. A prompt's position in the list is its prompt index, which names and seeds
 * its images, so reading must be deterministic and forgiving of how such files are made:
 *
 * <ul>
 *   <li>text: UTF-8, one prompt a line; blank lines skipped; surrounding whitespace, a byte-order
 *       mark and CRLF line ends ignored;
 *   <li>{@code .tsv} (PartiPrompts): a header row with a {@code Prompt} column (any case), one
 *       prompt a row; an optional {@code Image} column (any case) gives each row's condition image
 *       (for image-editing backends), a path relative to the prompt file's folder;
 *   <li>in both, a prompt wrapped whole in double quotes (CSV residue, as in one copy of
 *       DrawBench200) is unwrapped, {@code ""} inside becoming {@code "}.
 *   <li>in both, control characters other than tabs are refused with the file and line (see
 *       {@link #checkText}).
 * </ul>
 */
final class Prompts {
    private Prompts() {}

    /**
     * One prompt of a list and the condition image its row names.
     *
     * @param image the {@code Image} cell as written (null: the row names none)
     * @param imageFile that path resolved against the prompt file's folder (null with {@code image})
     * @param where the file and line, for messages
     */
    record Row(String prompt, String image, Path imageFile, String where) {}

    /**
     * The rows of {@code file} (may be null) followed by the {@code inline} prompts (without images);
     * at least one.
     */
    static List<Row> collectRows(Path file, List<String> inline) {
        List<Row> rows = new ArrayList<>();
        if (file != null) {
            rows.addAll(readRows(file));
        }
        for (String p : given(null, inline)) {
            rows.add(new Row(p, null, null, "--prompt"));
        }
        if (rows.isEmpty()) {
            throw new UsageException("no prompts: give --prompt-file FILE or --prompt TEXT");
        }
        return rows;
    }

    /** The prompts of {@code file} (may be null) followed by the {@code inline} ones; at least one. */
    static List<String> collect(Path file, List<String> inline) {
        List<String> prompts = given(file, inline);
        if (prompts.isEmpty()) {
            throw new UsageException("no prompts: give --prompt-file FILE or --prompt TEXT");
        }
        return prompts;
    }

    /** Like {@link #collect}, but an empty list when neither a file nor an inline prompt is given. */
    static List<String> given(Path file, List<String> inline) {
        List<String> prompts = new ArrayList<>();
        if (file != null) {
            prompts.addAll(read(file));
        }
        for (String p : inline) {
            if (p.isBlank()) {
                throw new UsageException("--prompt is empty");
            }
            checkText(p, "--prompt", true);
            prompts.add(p.strip());
        }
        return prompts;
    }

    /**
     * Refuses text with control characters (NUL, escape, ...): image metadata cannot hold them, and
     * in a prompt file they mean the file is not text (UTF-16 without a byte-order mark decodes to
     * every other character NUL). Tabs pass; line breaks only where {@code lineBreaks} (a
     * {@code --prompt} value; image metadata escapes them).
     *
     * @param where what the text is, for the message
     */
    static void checkText(String text, String where, boolean lineBreaks) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isISOControl(c) && c != '\t' && !(lineBreaks && (c == '\n' || c == '\r'))) {
                throw new UsageException(where + " contains the control character "
                        + String.format(Locale.ROOT, "U+%04X", (int) c)
                        + (c == 0 ? " (NUL): prompts must be UTF-8 text (is it UTF-16?)" : ": prompts must be plain text"));
            }
        }
    }

    static List<String> read(Path file) {
        return readRows(file).stream().map(Row::prompt).toList();
    }

    /** The prompts of {@code file} with the images of a {@code .tsv} file's {@code Image} column. */
    static List<Row> readRows(Path file) {
        String text = readUtf8(file);
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        List<String> lines = Arrays.asList(text.split("\r\n|\n|\r", -1));
        List<Row> prompts = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".tsv")
                ? fromTsv(file, lines)
                : fromLines(file, lines);
        if (prompts.isEmpty()) {
            throw new UsageException("prompt file " + file + " has no prompts (it is empty or blank)");
        }
        return prompts;
    }

    private static String readUtf8(Path file) {
        if (Files.isDirectory(file)) {
            throw new UsageException("prompt file " + file + " is a directory");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new UsageException("prompt file not found: " + file);
        } catch (AccessDeniedException e) {
            throw new UsageException("cannot read prompt file " + file + ": permission denied");
        } catch (IOException e) {
            throw new UsageException("cannot read prompt file " + file + ": " + Errors.oneLine(e));
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (MalformedInputException e) {
            throw new UsageException("prompt file " + file + " is not UTF-8 text (invalid bytes at line "
                    + lineOf(bytes, firstInvalidByte(bytes)) + ")");
        } catch (CharacterCodingException e) {
            throw new UsageException("prompt file " + file + " is not UTF-8 text");
        }
    }

    private static List<Row> fromLines(Path file, List<String> lines) {
        List<Row> prompts = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String where = "prompt file " + file + " line " + (i + 1);
            checkText(lines.get(i), where, false);
            String p = unquote(lines.get(i).strip());
            if (!p.isEmpty()) {
                prompts.add(new Row(p, null, null, where));
            }
        }
        return prompts;
    }

    private static List<Row> fromTsv(Path file, List<String> lines) {
        int header = 0;
        while (header < lines.size() && lines.get(header).isBlank()) {
            header++;
        }
        if (header == lines.size()) {
            return List.of();
        }
        checkText(lines.get(header), "prompt file " + file + " line " + (header + 1), false);
        String[] columns = lines.get(header).split("\t", -1);
        int column = -1;
        int imageColumn = -1;
        for (int c = 0; c < columns.length; c++) {
            String name = unquote(columns[c].strip());
            if (column < 0 && name.equalsIgnoreCase("prompt")) {
                column = c;
            } else if (imageColumn < 0 && name.equalsIgnoreCase("image")) {
                imageColumn = c;
            }
        }
        if (column < 0) {
            throw new UsageException("prompt file " + file + " has no 'Prompt' column (its header is: "
                    + String.join(", ", columns).strip() + ")");
        }
        List<Row> prompts = new ArrayList<>();
        Path folder = file.toAbsolutePath().getParent();
        for (int i = header + 1; i < lines.size(); i++) {
            String line = lines.get(i);
            String where = "prompt file " + file + " line " + (i + 1);
            checkText(line, where, false);
            String[] fields = line.split("\t", -1);
            String p = column < fields.length ? unquote(fields[column].strip()) : "";
            if (p.isEmpty()) {
                continue;
            }
            String image = imageColumn >= 0 && imageColumn < fields.length ? unquote(fields[imageColumn].strip()) : "";
            if (image.isEmpty()) {
                prompts.add(new Row(p, null, null, where));
            } else {
                Path imageFile;
                try {
                    imageFile = folder.resolve(image);
                } catch (java.nio.file.InvalidPathException e) {
                    throw new UsageException(where + ": the image path '" + image + "' is not a valid path");
                }
                prompts.add(new Row(p, image, imageFile, where));
            }
        }
        return prompts;
    }

    /** {@code "a ""b"" c"} → {@code a "b" c}; anything not wrapped whole in quotes is kept. */
    static String unquote(String s) {
        if (s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"")) {
            return s.substring(1, s.length() - 1).replace("\"\"", "\"").strip();
        }
        return s;
    }

    private static int firstInvalidByte(byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length + 1);
        decoder.decode(in, out, true);
        return in.position();
    }

    private static int lineOf(byte[] bytes, int offset) {
        int line = 1;
        for (int i = 0; i < offset && i < bytes.length; i++) {
            if (bytes[i] == '\n') {
                line++;
            }
        }
        return line;
    }
}
