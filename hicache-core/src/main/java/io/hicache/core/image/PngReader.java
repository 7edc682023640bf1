package io.hicache.core.image;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.InflaterInputStream;
import java.util.zip.ZipException;

/** Reads PNG pixels (with {@link ImageFiles}'s decoder) and PNG text metadata (parsed here, chunk by chunk). */
public final class PngReader {
    private PngReader() {}

    /** The pixels of a PNG as RGB (alpha dropped), decoded as {@link ImageFiles#read} decodes every input image. */
    public static RgbImage readImage(Path file) throws IOException {
        return ImageFiles.read(file);
    }

    /**
     * The text metadata of a PNG: {@code tEXt}, {@code zTXt} and {@code iTXt} chunks (compressed or
     * not), keyword → value in file order; a keyword that occurs twice keeps its last value. Image
     * data is skipped, not decoded; every text chunk's CRC is checked.
     */
    public static Map<String, String> readText(Path file) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            return readText(in, file.toString());
        }
    }

    private static Map<String, String> readText(InputStream stream, String name) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        byte[] signature = new byte[8];
        try {
            in.readFully(signature);
        } catch (EOFException e) {
            throw new IOException(name + " is not a PNG file (too short)", e);
        }
        if (!Arrays.equals(signature, PngWriter.SIGNATURE)) {
            throw new IOException(name + " is not a PNG file (bad signature)");
        }
        Map<String, String> text = new LinkedHashMap<>();
        while (true) {
            int length;
            byte[] typeBytes = new byte[4];
            try {
                length = in.readInt();
                in.readFully(typeBytes);
            } catch (EOFException e) {
                throw new IOException(name + ": truncated PNG (no IEND chunk)", e);
            }
            String type = new String(typeBytes, StandardCharsets.ISO_8859_1);
            if (length < 0) {
                throw new IOException(name + ": chunk " + type + " has invalid length " + length);
            }
            if (type.equals("IEND")) {
                return text;
            }
            if (!type.equals("tEXt") && !type.equals("zTXt") && !type.equals("iTXt")) {
                in.skipNBytes(length + 4L); // data and CRC
                continue;
            }
            byte[] data = new byte[length];
            in.readFully(data);
            CRC32 crc = new CRC32();
            crc.update(typeBytes);
            crc.update(data);
            if (in.readInt() != (int) crc.getValue()) {
                throw new IOException(name + ": CRC mismatch in " + type + " chunk");
            }
            parseTextChunk(type, data, text, name);
        }
    }

    /**
     * Checks that a file is a whole, undamaged PNG without decoding it: the signature, {@code IHDR}
     * first, every chunk's CRC, {@code IEND} last and nothing after it. Any changed, lost or added
     * byte fails one of these (a CRC covers its chunk's type and data; a changed length misplaces
     * every later chunk).
     *
     * @throws IOException naming the file and the first problem found
     */
    public static void checkIntegrity(Path file) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            byte[] signature = new byte[8];
            if (in.readNBytes(signature, 0, 8) < 8 || !Arrays.equals(signature, PngWriter.SIGNATURE)) {
                throw new IOException(file + " is not a PNG file (bad signature)");
            }
            byte[] buffer = new byte[1 << 16];
            byte[] typeBytes = new byte[4];
            for (int n = 0; ; n++) {
                long length;
                try {
                    length = in.readInt() & 0xFFFFFFFFL;
                    in.readFully(typeBytes);
                } catch (EOFException e) {
                    throw new IOException(file + ": truncated PNG (no IEND chunk)", e);
                }
                String type = new String(typeBytes, StandardCharsets.ISO_8859_1);
                if (length > Integer.MAX_VALUE) {
                    throw new IOException(file + ": chunk " + n + " has invalid length " + length);
                }
                if (n == 0 && !type.equals("IHDR")) {
                    throw new IOException(file + ": the first chunk is not IHDR");
                }
                CRC32 crc = new CRC32();
                crc.update(typeBytes);
                try {
                    for (long left = length; left > 0; ) {
                        int k = (int) Math.min(left, buffer.length);
                        in.readFully(buffer, 0, k);
                        crc.update(buffer, 0, k);
                        left -= k;
                    }
                    if (in.readInt() != (int) crc.getValue()) {
                        throw new IOException(file + ": CRC mismatch in " + printable(type) + " chunk " + n);
                    }
                } catch (EOFException e) {
                    throw new IOException(file + ": truncated PNG (in " + printable(type) + " chunk " + n + ")", e);
                }
                if (type.equals("IEND")) {
                    if (in.read() >= 0) {
                        throw new IOException(file + ": data after the IEND chunk");
                    }
                    return;
                }
            }
        }
    }

    private static String printable(String type) {
        return type.chars().allMatch(c -> (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) ? type : "a damaged";
    }

    private static void parseTextChunk(String type, byte[] data, Map<String, String> text, String name)
            throws IOException {
        int k = indexOfZero(data, 0, name, type);
        String keyword = new String(data, 0, k, StandardCharsets.ISO_8859_1);
        switch (type) {
            case "tEXt":
                text.put(keyword, new String(data, k + 1, data.length - k - 1, StandardCharsets.ISO_8859_1));
                break;
            case "zTXt":
                // keyword \0, compression method (0 = deflate), compressed Latin-1 text
                text.put(keyword, inflate(data, k + 2, StandardCharsets.ISO_8859_1, name));
                break;
            default: {
                // iTXt: keyword \0, compression flag, method, language tag \0, translated keyword \0, text
                if (data.length < k + 3) {
                    throw new IOException(name + ": truncated iTXt chunk '" + keyword + "'");
                }
                boolean compressed = data[k + 1] != 0;
                int language = indexOfZero(data, k + 3, name, type);
                int translated = indexOfZero(data, language + 1, name, type);
                int start = translated + 1;
                text.put(keyword, compressed
                        ? inflate(data, start, StandardCharsets.UTF_8, name)
                        : new String(data, start, data.length - start, StandardCharsets.UTF_8));
            }
        }
    }

    private static int indexOfZero(byte[] data, int from, String name, String type) throws IOException {
        for (int i = from; i < data.length; i++) {
            if (data[i] == 0) {
                return i;
            }
        }
        throw new IOException(name + ": malformed " + type + " chunk (missing NUL separator)");
    }

    private static String inflate(byte[] data, int from, Charset charset, String name) throws IOException {
        if (from > data.length) {
            throw new IOException(name + ": truncated compressed text chunk");
        }
        try (InputStream in = new InflaterInputStream(new ByteArrayInputStream(data, from, data.length - from))) {
            return new String(in.readAllBytes(), charset);
        } catch (ZipException e) {
            throw new IOException(name + ": corrupt compressed text chunk", e);
        }
    }
}
