package io.hicache.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Node;

/** PngWriter/PngReader checked against ImageIO (an independent encoder and decoder) and the spec. */
class PngTest {
    private static final String CHINESE_EMOJI = "一只在雪地里的红狐狸 🦊, cinematic";
    private static final String ALMOST_LATIN1 = "café crème, naïve façade — the dash is not Latin-1";
    private static final String REALLY_LATIN1 = "café crème, naïve façade ×2";

    @TempDir
    Path dir;

    @Test
    void pixelsSurviveAnIndependentDecoder() throws IOException {
        for (RgbImage img : List.of(random(37, 23, 1), gradient(64, 48), RgbImage.filled(1, 1, 7, 8, 9))) {
            byte[] png = PngWriter.encode(img, Map.of());
            assertEquals(img, RgbImage.fromBufferedImage(ImageIO.read(new ByteArrayInputStream(png))));
            Path file = dir.resolve("img.png");
            PngWriter.write(file, img, Map.of());
            assertEquals(img, PngReader.readImage(file));
        }
    }

    /**
     * Rows built so that one filter clearly gives the smallest output: the writer must pick it, and
     * ImageIO must decode every filter type back to the same pixels.
     */
    @Test
    void everyFilterTypeIsChosenWhereItWinsAndDecodes() throws IOException, DataFormatException {
        int w = 20;
        int stride = 3 * w;
        Random r = new Random(2);
        int[][] rows = new int[9][stride];
        for (int y : new int[] {0, 2, 6}) {
            for (int i = 0; i < stride; i++) {
                rows[y][i] = r.nextInt(256);
            }
        }
        for (int i = 0; i < stride; i++) {
            int a3 = i >= 3 ? rows[3][i - 3] : 0;
            rows[1][i] = rows[0][i]; // Up
            rows[3][i] = (a3 + rows[2][i]) / 2; // Average
            // Paeth: under a flat row it predicts the left neighbour (p = a + b − c = a), so a flat row
            // of 110 under 100 costs 10 per byte of the first pixel only, less than any other filter
            rows[4][i] = 100;
            rows[5][i] = 110;
            rows[7][i] = (i + 5) % 256; // Sub: each byte is its left neighbour + 3
            rows[8][i] = 0; // None (Sub would also give zeros; None comes first)
        }
        byte[] bytes = new byte[9 * stride];
        for (int y = 0; y < 9; y++) {
            for (int i = 0; i < stride; i++) {
                bytes[y * stride + i] = (byte) rows[y][i];
            }
        }
        RgbImage img = RgbImage.of(w, 9, bytes);
        byte[] png = PngWriter.encode(img, Map.of());

        byte[] raw = inflate(chunkData(png, "IDAT"));
        assertEquals(9 * (1 + stride), raw.length);
        int[] expectedFilter = {-1, 2, -1, 3, -1, 4, -1, 1, 0};
        for (int y = 1; y < 9; y += y == 7 ? 1 : 2) {
            assertEquals(expectedFilter[y], raw[y * (1 + stride)], "filter of row " + y);
        }
        assertEquals(img, RgbImage.fromBufferedImage(ImageIO.read(new ByteArrayInputStream(png))));
    }

    @Test
    void fileLayoutFollowsTheSpec() throws IOException {
        Map<String, String> text = new LinkedHashMap<>();
        text.put("prompt", CHINESE_EMOJI);
        text.put("negative", REALLY_LATIN1);
        text.put("seed", "42");
        byte[] png = PngWriter.encode(random(5, 3, 3), text);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10}, java.util.Arrays.copyOf(png, 8));
        List<String[]> chunks = chunks(png); // every CRC is verified inside
        List<String> types = new ArrayList<>();
        for (String[] c : chunks) {
            types.add(c[0] + (c[1].isEmpty() ? "" : ":" + c[1]));
        }
        assertEquals(List.of("IHDR", "iTXt:prompt", "tEXt:negative", "tEXt:seed", "IDAT", "IEND"), types);
        // IHDR: width 5, height 3, bit depth 8, colour type 2 (RGB), compression/filter/interlace 0
        assertArrayEquals(new byte[] {0, 0, 0, 5, 0, 0, 0, 3, 8, 2, 0, 0, 0}, chunkData(png, "IHDR"));
        // tEXt is keyword, NUL, Latin-1 text: é is the single byte 0xE9
        byte[] negative = chunkData(png, "tEXt");
        assertEquals(("negative\0" + REALLY_LATIN1).length(), negative.length);
        assertEquals((byte) 0xE9, negative["negative\0caf".length()]);
    }

    @Test
    void textRoundTripsThroughOurReader() throws IOException {
        Map<String, String> text = new LinkedHashMap<>();
        text.put("prompt", CHINESE_EMOJI);
        text.put("Comment", ALMOST_LATIN1);
        text.put("latin", REALLY_LATIN1);
        text.put("multi line", "line one\nline two\ttabbed");
        text.put("empty", "");
        Path file = dir.resolve("t.png");
        PngWriter.write(file, random(8, 8, 4), text);
        Map<String, String> read = PngReader.readText(file);
        assertEquals(text, read);
        assertEquals(new ArrayList<>(text.keySet()), new ArrayList<>(read.keySet()), "file order kept");
    }

    /** ImageIO's PNG metadata is an independent parser of our tEXt and iTXt chunks. */
    @Test
    void imageIoReadsOurTextChunks() throws IOException {
        Map<String, String> text = new LinkedHashMap<>();
        text.put("prompt", CHINESE_EMOJI);
        text.put("latin", REALLY_LATIN1);
        byte[] png = PngWriter.encode(random(4, 4, 5), text);
        Map<String, String> seen = new LinkedHashMap<>();
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(png))) {
            ImageReader reader = ImageIO.getImageReadersByFormatName("png").next();
            reader.setInput(in);
            Node root = reader.getImageMetadata(0).getAsTree("javax_imageio_png_1.0");
            for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
                for (Node e = n.getFirstChild(); e != null; e = e.getNextSibling()) {
                    if (e.getNodeName().equals("tEXtEntry")) {
                        seen.put("tEXt:" + attr(e, "keyword"), attr(e, "value"));
                    } else if (e.getNodeName().equals("iTXtEntry")) {
                        seen.put("iTXt:" + attr(e, "keyword"), attr(e, "text"));
                    }
                }
            }
            reader.dispose();
        }
        assertEquals(Map.of("iTXt:prompt", CHINESE_EMOJI, "tEXt:latin", REALLY_LATIN1), seen);
    }

    /** Other tools compress long text (zTXt, compressed iTXt): the reader must read those too. */
    @Test
    void readsTextChunksWrittenByImageIo() throws IOException {
        BufferedImage image = random(6, 4, 6).toBufferedImage();
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        IIOMetadata metadata = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(image), null);
        IIOMetadataNode root = new IIOMetadataNode("javax_imageio_png_1.0");
        root.appendChild(entry("tEXt", "tEXtEntry", "keyword", "plain", "value", REALLY_LATIN1));
        root.appendChild(entry("zTXt", "zTXtEntry", "keyword", "squeezed", "text", REALLY_LATIN1.repeat(20),
                "compressionMethod", "deflate"));
        root.appendChild(entry("iTXt", "iTXtEntry", "keyword", "utf8", "compressionFlag", "TRUE",
                "compressionMethod", "0", "languageTag", "zh", "translatedKeyword", "提示", "text", CHINESE_EMOJI));
        metadata.mergeTree("javax_imageio_png_1.0", root);
        Path file = dir.resolve("imageio.png");
        try (ImageOutputStream out = ImageIO.createImageOutputStream(file.toFile())) {
            writer.setOutput(out);
            writer.write(new IIOImage(image, null, metadata));
        }
        writer.dispose();
        byte[] png = Files.readAllBytes(file);
        assertTrue(chunks(png).stream().anyMatch(c -> c[0].equals("zTXt")), "ImageIO wrote zTXt");
        assertEquals(1, chunkData(png, "iTXt")["utf8\0".length()], "ImageIO compressed the iTXt");
        assertEquals(Map.of("plain", REALLY_LATIN1, "squeezed", REALLY_LATIN1.repeat(20), "utf8", CHINESE_EMOJI),
                PngReader.readText(file));
    }

    @Test
    void writesAtomicallyAndLeavesNoTemporaryFile() throws IOException {
        Path file = dir.resolve("sub/out.png");
        PngWriter.write(file, random(3, 3, 7), Map.of("k", "first"));
        PngWriter.write(file, random(3, 3, 8), Map.of("k", "second"));
        assertEquals(List.of(file), list(file.getParent()));
        assertEquals(Map.of("k", "second"), PngReader.readText(file));
        assertEquals(random(3, 3, 8), PngReader.readImage(file));

        Path refused = dir.resolve("refused.png");
        assertThrows(IllegalArgumentException.class, () -> PngWriter.write(refused, random(3, 3, 9), Map.of(" bad", "v")));
        assertEquals(List.of(dir.resolve("sub")), list(dir), "neither the file nor a temporary exists");
    }

    @Test
    void rejectsInvalidKeywordsAndValues() {
        RgbImage img = random(2, 2, 10);
        for (String keyword : new String[] {"", " lead", "trail ", "two  spaces", "x".repeat(80), "プロンプト", "tab\there", "nul\0"}) {
            assertThrows(IllegalArgumentException.class, () -> PngWriter.encode(img, Map.of(keyword, "v")), keyword);
        }
        PngWriter.encode(img, Map.of("x".repeat(79), "v", "Crème brûlée", "v"));
        assertThrows(IllegalArgumentException.class, () -> PngWriter.encode(img, Map.of("k", "a\0b")));
    }

    @Test
    void readerRejectsDamagedFiles() throws IOException {
        byte[] png = PngWriter.encode(random(4, 4, 11), Map.of("prompt", "a fox"));
        Path file = dir.resolve("d.png");

        byte[] flipped = png.clone();
        int at = indexOf(flipped, "a fox".getBytes(StandardCharsets.US_ASCII));
        flipped[at] = 'A';
        Files.write(file, flipped);
        IOException crc = assertThrows(IOException.class, () -> PngReader.readText(file));
        assertTrue(crc.getMessage().contains("CRC"), crc.getMessage());

        Files.write(file, java.util.Arrays.copyOf(png, png.length - 12)); // IEND cut off
        assertThrows(IOException.class, () -> PngReader.readText(file));

        Files.write(file, "GIF89a not a png".getBytes(StandardCharsets.US_ASCII));
        assertThrows(IOException.class, () -> PngReader.readText(file));
        assertThrows(IOException.class, () -> PngReader.readImage(file));
    }

    @Test
    void integrityCheckFindsAnyFlippedLostOrAddedByte() throws IOException {
        byte[] png = PngWriter.encode(random(8, 8, 12), Map.of("prompt", "a fox"));
        Path file = dir.resolve("i.png");
        Files.write(file, png);
        PngReader.checkIntegrity(file);
        for (int at = 0; at < png.length; at++) {
            byte[] flipped = png.clone();
            flipped[at] ^= 0x10;
            Files.write(file, flipped);
            int where = at;
            assertThrows(IOException.class, () -> PngReader.checkIntegrity(file), "byte " + where + " flipped");
        }
        Files.write(file, java.util.Arrays.copyOf(png, png.length - 1));
        assertThrows(IOException.class, () -> PngReader.checkIntegrity(file));
        Files.write(file, java.util.Arrays.copyOf(png, png.length + 1));
        IOException extra = assertThrows(IOException.class, () -> PngReader.checkIntegrity(file));
        assertTrue(extra.getMessage().contains("after the IEND"), extra.getMessage());
    }

    static RgbImage random(int w, int h, long seed) {
        byte[] b = new byte[3 * w * h];
        new Random(seed).nextBytes(b);
        return RgbImage.of(w, h, b);
    }

    private static RgbImage gradient(int w, int h) {
        byte[] b = new byte[3 * w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                b[3 * (y * w + x)] = (byte) (4 * x);
                b[3 * (y * w + x) + 1] = (byte) (5 * y);
                b[3 * (y * w + x) + 2] = (byte) (x * y);
            }
        }
        return RgbImage.of(w, h, b);
    }

    /** Walks the chunk list, checking each CRC: {type, keyword of a text chunk or ""}. */
    private static List<String[]> chunks(byte[] png) {
        List<String[]> out = new ArrayList<>();
        ByteBuffer buf = ByteBuffer.wrap(png, 8, png.length - 8);
        while (buf.hasRemaining()) {
            int length = buf.getInt();
            byte[] type = new byte[4];
            buf.get(type);
            byte[] data = new byte[length];
            buf.get(data);
            CRC32 crc = new CRC32();
            crc.update(type);
            crc.update(data);
            assertEquals((int) crc.getValue(), buf.getInt(), "CRC of " + new String(type, StandardCharsets.US_ASCII));
            String t = new String(type, StandardCharsets.US_ASCII);
            boolean text = t.equals("tEXt") || t.equals("zTXt") || t.equals("iTXt");
            String keyword = text ? new String(data, 0, indexOf(data, new byte[] {0}), StandardCharsets.ISO_8859_1) : "";
            out.add(new String[] {t, keyword});
        }
        return out;
    }

    private static byte[] chunkData(byte[] png, String wanted) {
        ByteBuffer buf = ByteBuffer.wrap(png, 8, png.length - 8);
        while (buf.hasRemaining()) {
            int length = buf.getInt();
            byte[] type = new byte[4];
            buf.get(type);
            byte[] data = new byte[length];
            buf.get(data);
            buf.getInt();
            if (new String(type, StandardCharsets.US_ASCII).equals(wanted)) {
                return data;
            }
        }
        throw new AssertionError("no " + wanted + " chunk");
    }

    private static byte[] inflate(byte[] data) throws DataFormatException {
        Inflater inflater = new Inflater();
        inflater.setInput(data);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!inflater.finished()) {
            out.write(buf, 0, inflater.inflate(buf));
        }
        inflater.end();
        return out.toByteArray();
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static IIOMetadataNode entry(String parent, String child, String... attributes) {
        IIOMetadataNode p = new IIOMetadataNode(parent);
        IIOMetadataNode c = new IIOMetadataNode(child);
        for (int i = 0; i < attributes.length; i += 2) {
            c.setAttribute(attributes[i], attributes[i + 1]);
        }
        p.appendChild(c);
        return p;
    }

    private static String attr(Node n, String name) {
        return n.getAttributes().getNamedItem(name).getNodeValue();
    }

    private static List<Path> list(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.sorted().toList();
        }
    }
}
