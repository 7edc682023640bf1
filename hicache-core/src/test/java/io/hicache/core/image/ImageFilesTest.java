package io.hicache.core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.core.image.ImageFiles.UnreadableImageException;
import java.awt.color.ColorSpace;
import java.awt.color.ICC_Profile;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFilesTest {
    @TempDir
    Path dir;

    // ---- a minimal PNG writer: the test states every byte of the file it reads back ----

    private static byte[] chunk(String type, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(12 + data.length);
        byte[] t = type.getBytes(StandardCharsets.ISO_8859_1);
        b.putInt(data.length).put(t).put(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        b.putInt((int) crc.getValue());
        return b.array();
    }

    private static byte[] ihdr(int width, int height, int bitDepth, int colorType, int interlace) {
        return ByteBuffer.allocate(13).putInt(width).putInt(height)
                .put((byte) bitDepth).put((byte) colorType).put((byte) 0).put((byte) 0).put((byte) interlace).array();
    }

    private static byte[] deflate(byte[] raw) {
        Deflater d = new Deflater();
        d.setInput(raw);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!d.finished()) {
            out.write(buf, 0, d.deflate(buf));
        }
        d.end();
        return out.toByteArray();
    }

    /** A non-interlaced PNG whose scanlines are {@code rows} (unfiltered, filter byte 0 each), plus chunks before IDAT. */
    private static byte[] png(int width, int bitDepth, int colorType, byte[][] rows, byte[]... extraChunks) {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        for (byte[] row : rows) {
            raw.write(0);
            raw.writeBytes(row);
        }
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        file.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        file.writeBytes(chunk("IHDR", ihdr(width, rows.length, bitDepth, colorType, 0)));
        for (byte[] c : extraChunks) {
            file.writeBytes(c);
        }
        file.writeBytes(chunk("IDAT", deflate(raw.toByteArray())));
        file.writeBytes(chunk("IEND", new byte[0]));
        return file.toByteArray();
    }

    private static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    private RgbImage readBytes(String name, byte[] content) throws IOException {
        Path f = dir.resolve(name);
        Files.write(f, content);
        return ImageFiles.read(f);
    }

    private static void assertPixels(RgbImage img, int... rgb) {
        assertEquals(rgb.length / 3, img.width() * img.height());
        for (int i = 0; i < rgb.length / 3; i++) {
            int x = i % img.width();
            int y = i / img.width();
            for (int c = 0; c < 3; c++) {
                assertEquals(rgb[3 * i + c], img.sample(x, y, c), "pixel (" + x + ", " + y + ") channel " + c);
            }
        }
    }

    @Test
    void rgbaDropsAlphaWithoutCompositing() throws IOException {
        // A fully transparent pixel keeps its stored colour (PIL's convert("RGB") drops alpha).
        byte[] row = bytes(10, 20, 30, 0, 200, 100, 50, 128);
        RgbImage img = readBytes("rgba.png", png(2, 8, 6, new byte[][] {row}));
        assertPixels(img, 10, 20, 30, 200, 100, 50);
    }

    @Test
    void greyLevelsBecomeEqualChannelsWithoutGamma() throws IOException {
        // 8-bit grey: R = G = B = level (no linear-to-sRGB conversion, unlike BufferedImage.getRGB).
        assertPixels(readBytes("g8.png", png(3, 8, 0, new byte[][] {bytes(0, 77, 255)})), 0, 0, 0, 77, 77, 77, 255, 255, 255);
        // 2-bit grey 0, 1, 2, 3 packed in one byte 0b00_01_10_11: PIL's L;2 scales by 0x55.
        assertPixels(readBytes("g2.png", png(4, 2, 0, new byte[][] {bytes(0x1B)})), 0, 0, 0, 85, 85, 85, 170, 170, 170,
                255, 255, 255);
        // 4-bit grey 0x3 and 0xC: ×0x11 → 0x33, 0xCC.
        assertPixels(readBytes("g4.png", png(2, 4, 0, new byte[][] {bytes(0x3C)})), 0x33, 0x33, 0x33, 0xCC, 0xCC, 0xCC);
        // 1-bit grey, 9 pixels over two bytes (the last 7 bits are row padding): 1 → 255.
        RgbImage one = readBytes("g1.png", png(9, 1, 0, new byte[][] {bytes(0b1010_0001, 0b1000_0000)}));
        int[] bits = {1, 0, 1, 0, 0, 0, 0, 1, 1};
        for (int x = 0; x < 9; x++) {
            assertEquals(bits[x] * 255, one.sample(x, 0, 1), "pixel " + x);
        }
        // 16-bit grey: Pillow opens it as I;16 and I;16 → RGB clips at 255 (no scaling):
        // 0x0000 → 0, 0x0080 → 128, 0x00FF → 255, 0x0100 → 255, 0xFFFF → 255.
        RgbImage g16 = readBytes("g16.png", png(5, 16, 0, new byte[][] {bytes(0, 0, 0, 0x80, 0, 0xFF, 1, 0, 0xFF, 0xFF)}));
        assertPixels(g16, 0, 0, 0, 128, 128, 128, 255, 255, 255, 255, 255, 255, 255, 255, 255);
    }

    @Test
    void sixteenBitColourKeepsTheHighByte() throws IOException {
        // RGB 16: (0x12AB, 0x3400, 0xFFFF) → (0x12, 0x34, 0xFF), Pillow's RGB;16B unpacker.
        assertPixels(readBytes("rgb16.png", png(1, 16, 2, new byte[][] {bytes(0x12, 0xAB, 0x34, 0x00, 0xFF, 0xFF)})),
                0x12, 0x34, 0xFF);
        // RGBA 16: alpha dropped, high bytes kept.
        assertPixels(readBytes("rgba16.png", png(1, 16, 6, new byte[][] {bytes(0x80, 1, 0x7F, 2, 3, 4, 0, 0)})),
                0x80, 0x7F, 0x03);
        // Grey+alpha 16: Pillow reads LA;16B into RGBA as (L_hi, L_hi, L_hi, A_hi).
        assertPixels(readBytes("la16.png", png(1, 16, 4, new byte[][] {bytes(0xAB, 0x12, 0x00, 0x00)})), 0xAB, 0xAB, 0xAB);
        // Grey+alpha 8.
        assertPixels(readBytes("la8.png", png(2, 8, 4, new byte[][] {bytes(40, 255, 41, 0)})), 40, 40, 40, 41, 41, 41);
    }

    @Test
    void paletteImagesAreLookedUpAndTransparencyIgnored() throws IOException {
        byte[] plte = chunk("PLTE", bytes(255, 0, 0, 0, 255, 0, 1, 2, 3));
        byte[] trns = chunk("tRNS", bytes(0, 128));
        // 4-bit indices 0, 1, 2, 5: index 5 is past the 3-entry palette and reads black, as in
        // Pillow (its palette starts zeroed).
        RgbImage img = readBytes("p4.png", png(4, 4, 3, new byte[][] {bytes(0x01, 0x25)}, plte, trns));
        assertPixels(img, 255, 0, 0, 0, 255, 0, 1, 2, 3, 0, 0, 0);
        // 8-bit indices, two rows.
        RgbImage p8 = readBytes("p8.png", png(1, 8, 3, new byte[][] {bytes(2), bytes(1)}, plte));
        assertPixels(p8, 1, 2, 3, 0, 255, 0);
    }

    @Test
    void ancillaryChunksDoNotChangePixels() throws IOException {
        byte[] gama = chunk("gAMA", ByteBuffer.allocate(4).putInt(100000).array()); // gamma 1.0
        byte[] trns = chunk("tRNS", bytes(0, 10, 0, 20, 0, 30)); // colour (10, 20, 30) transparent
        byte[] text = chunk("tEXt", "Comment\0hello".getBytes(StandardCharsets.ISO_8859_1));
        RgbImage img = readBytes("anc.png", png(2, 8, 2, new byte[][] {bytes(10, 20, 30, 7, 8, 9)}, gama, trns, text));
        assertPixels(img, 10, 20, 30, 7, 8, 9);
    }

    /** PNG row filters 1-4 applied to one scanline, from the specification's definitions. */
    private static byte[] filterRow(int type, byte[] row, byte[] up, int bpp) {
        byte[] out = new byte[row.length];
        for (int i = 0; i < row.length; i++) {
            int a = i >= bpp ? row[i - bpp] & 0xFF : 0;
            int b = up[i] & 0xFF;
            int c = i >= bpp ? up[i - bpp] & 0xFF : 0;
            int predictor = switch (type) {
                case 1 -> a;
                case 2 -> b;
                case 3 -> (a + b) / 2;
                case 4 -> {
                    int p = a + b - c;
                    int pa = Math.abs(p - a);
                    int pb = Math.abs(p - b);
                    int pc = Math.abs(p - c);
                    yield pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                }
                default -> 0;
            };
            out[i] = (byte) (row[i] - predictor);
        }
        return out;
    }

    @Test
    void everyRowFilterIsUndone() throws IOException {
        // Six rows of a 5-pixel RGB image stored with filters 0, 1, 2, 3, 4, 4.
        int w = 5;
        byte[][] rows = new byte[6][3 * w];
        Random random = new Random(5);
        for (byte[] r : rows) {
            random.nextBytes(r);
        }
        int[] filters = {0, 1, 2, 3, 4, 4};
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        byte[] up = new byte[3 * w];
        for (int y = 0; y < rows.length; y++) {
            raw.write(filters[y]);
            raw.writeBytes(filters[y] == 0 ? rows[y] : filterRow(filters[y], rows[y], up, 3));
            up = rows[y];
        }
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        file.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        file.writeBytes(chunk("IHDR", ihdr(w, rows.length, 8, 2, 0)));
        byte[] compressed = deflate(raw.toByteArray());
        // Image data split over two IDAT chunks, which the decoder must join.
        file.writeBytes(chunk("IDAT", Arrays.copyOfRange(compressed, 0, compressed.length / 2)));
        file.writeBytes(chunk("IDAT", Arrays.copyOfRange(compressed, compressed.length / 2, compressed.length)));
        file.writeBytes(chunk("IEND", new byte[0]));
        RgbImage img = readBytes("filters.png", file.toByteArray());
        for (int y = 0; y < rows.length; y++) {
            for (int i = 0; i < 3 * w; i++) {
                assertEquals(rows[y][i] & 0xFF, img.sample(i / 3, y, i % 3), "row " + y + " (filter " + filters[y] + ")");
            }
        }
    }

    private static RgbImage randomImage(int w, int h, long seed) {
        byte[] b = new byte[3 * w * h];
        new Random(seed).nextBytes(b);
        return RgbImage.of(w, h, b);
    }

    private Path writeWithImageIO(BufferedImage image, String format, String name, boolean progressive, float quality)
            throws IOException {
        Path f = dir.resolve(name);
        ImageWriter writer = ImageIO.getImageWritersByFormatName(format).next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        if (progressive) {
            param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
        }
        if (quality > 0) {
            param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionQuality(quality);
        }
        try (ImageOutputStream out = ImageIO.createImageOutputStream(f.toFile())) {
            writer.setOutput(out);
            writer.write(null, new IIOImage(image, null, null), param);
        } finally {
            writer.dispose();
        }
        return f;
    }

    @Test
    void pngsWrittenByImageIoReadBackExactly() throws IOException {
        // ImageIO's writer chooses row filters adaptively, and progressive mode is Adam7
        // interlacing: sizes 23x17 and 3x2 leave some Adam7 passes short or empty.
        for (int[] size : new int[][] {{23, 17}, {3, 2}, {1, 1}}) {
            RgbImage img = randomImage(size[0], size[1], size[0]);
            for (boolean interlaced : new boolean[] {false, true}) {
                Path f = writeWithImageIO(img.toBufferedImage(), "png", "io" + size[0] + interlaced + ".png", interlaced, 0);
                if (interlaced) {
                    assertEquals(1, Files.readAllBytes(f)[28], "the file should be Adam7-interlaced");
                }
                assertEquals(img, ImageFiles.read(f), size[0] + "x" + size[1] + (interlaced ? " interlaced" : ""));
            }
        }
        // An 8-bit grey image: its raster levels, not getRGB's gamma-converted ones.
        BufferedImage grey = new BufferedImage(7, 3, BufferedImage.TYPE_BYTE_GRAY);
        for (int i = 0; i < 21; i++) {
            grey.getRaster().setSample(i % 7, i / 7, 0, i * 12);
        }
        RgbImage g = ImageFiles.read(writeWithImageIO(grey, "png", "grey.png", true, 0));
        for (int i = 0; i < 21; i++) {
            for (int c = 0; c < 3; c++) {
                assertEquals(i * 12, g.sample(i % 7, i / 7, c));
            }
        }
    }

    /** A smooth colour gradient, which JPEG keeps well. */
    private static RgbImage gradient(int w, int h) {
        byte[] b = new byte[3 * w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int o = 3 * (y * w + x);
                b[o] = (byte) (40 + 5 * x);
                b[o + 1] = (byte) (30 + 6 * y);
                b[o + 2] = (byte) (200 - 2 * x - 2 * y);
            }
        }
        return RgbImage.of(w, h, b);
    }

    @Test
    void jpegsReadBackApproximately() throws IOException {
        // Lossy: quality 0.95 quantises each DCT coefficient by a step of about 1-2 levels, and the
        // writer's 4:2:0 chroma subsampling blurs colour over 2x2 blocks (this gradient changes by up
        // to 6 levels per pixel). The JDK's encoder and decoder are deterministic and give a largest
        // error of 6 here; the bound of 8 leaves room for another libjpeg build's rounding.
        RgbImage img = gradient(32, 24);
        RgbImage back = ImageFiles.read(writeWithImageIO(img.toBufferedImage(), "jpeg", "g.jpg", false, 0.95f));
        assertEquals(32, back.width());
        assertEquals(24, back.height());
        int worst = 0;
        for (int y = 0; y < 24; y++) {
            for (int x = 0; x < 32; x++) {
                for (int c = 0; c < 3; c++) {
                    worst = Math.max(worst, Math.abs(img.sample(x, y, c) - back.sample(x, y, c)));
                }
            }
        }
        assertTrue(worst <= 8, "largest JPEG error " + worst);

        // A grey JPEG comes back with R = G = B near the grey levels (luma only, so no chroma loss:
        // within 3 levels).
        BufferedImage grey = new BufferedImage(16, 16, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                grey.getRaster().setSample(x, y, 0, 60 + 4 * x + 3 * y);
            }
        }
        RgbImage g = ImageFiles.read(writeWithImageIO(grey, "jpeg", "grey.jpg", false, 0.95f));
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                assertEquals(g.sample(x, y, 0), g.sample(x, y, 1));
                assertEquals(g.sample(x, y, 0), g.sample(x, y, 2));
                assertTrue(Math.abs(g.sample(x, y, 0) - (60 + 4 * x + 3 * y)) <= 3, "grey at " + x + "," + y);
            }
        }
    }

    /** A 24x16 JPEG written by Pillow 9.4.0 (quality 90, 4:2:0) of R = 10x, G = 15y, B = 3xy mod 256. */
    private static final String PILLOW_JPEG = ""
            + "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQ"
            + "ERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU"
            + "FBQUFBQUFBQUFBQUFBT/wAARCAAQABgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAA"
            + "AgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6"
            + "Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXG"
            + "x8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREA"
            + "AgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5"
            + "OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPE"
            + "xcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD4j8M/CTz9n7nP4V6poPwVhjiWSaNY09WH"
            + "X2HqfavfPBPwsSK386SH5EGTx+n1r0bQfhZv23V1D5kr8RxgYz7D0A/zya5cDmGBp4GlXrwU5zXN7ztGMVpzStq7vSMVrJ3S"
            + "d9/keFuPpOSSqWSPn7QvhDaNxDZSTsMYO3ap/E8/pRX2JpHwtYsFnhLnaC0KHbGoHPzfz7/hxRXi4nP8DGq1NQh5cqXV/wDT"
            + "ms9OznddUnv/AFllXHcnho+/f5/8FH//2Q==";
    /** The RGB bytes Pillow 9.4.0 (libjpeg-turbo) decodes that file to. */
    private static final String PILLOW_JPEG_PIXELS = ""
            + "AAQAAAYADQYAFwUBJAIBLgAAOQIAQwAHSQAVUwAXXAILZAIDbwIIfAQOhQIUiwATmQEYpAIaqwAVtAAXwQAeywAY0gQI2gkC"
            + "AA8ABhEBERALHQ8OJw4KNA4LQA4RSQ0XUAwjVgsiYhAcbxQddxEefg0hig4qlxEymwoxqA40sw80vQ45yw5E0w1A2Q814RQ1"
            + "Ah0ACh4FEx0VHh0bKh0VNh0ZQBwoSRwwUh8yWh8xYyAybiE1eSA8hiJIjyBTlBxZoh9hrSJmtiFlvh1ryxx51RqD3BuI5R+Q"
            + "BCwACi0FFCsZICwiKiweNSwlQCs6RytCUS9HWS5JYi9QbS9YeC5fgixrjSx9liyIpC2RrS+QtS+Evy+G0TCX3DCe5DCd6zOi"
            + "BTsADD0GFT4WHz0hKD4pMj40PT1FRT1UTj5jUztrYT52ckOHeT6OfTaWiziuoEDFoDW/rjy2u0WdykqU2UqZ3USF2Dpd1DVJ"
            + "BkoBC0wKFEwbHUwqJkw1L01DOU1UQkxnSkt7V0yOYUyXa0mfek2qjFS3lFO7lUm1rVXFr06vq0WGrj1xvj55y0Nx10lZ309P"
            + "BlkBDFoPFFksHVk/JltJL1xXOV1rQ1t/S1qVWl2qZVq2alW0fFu0j2etj2WLh1Zsk1JonlNnqFRktlRryViD1lqM31qP5l2R"
            + "BmYFC2YWFGczHWhJJWpXL2poOmqARGmVT2irV2SyaW20fHayf2+edl95emBfjGpemmpgp2xosmxuvmx6zW2J2W2R4m6V63Kb"
            + "BHITCnQcE3cvHXlIJ3liMHd5PHiSR3eoUnS+ZH67cIORYG1bbnFSe3RXh3VnlXh6nHiGqnqQuoCWvnqP1IKY5ouSzW5Y1nVS"
            + "A38RC4UgFIkxG4dJJYVqMoeKQYikSIWxXo6+ZI2hVXpYb4tOdYVHgYdbkIeAlH+Op4yfrYucvZKZsX1/wH6Cw3hy1IVk3o1e"
            + "BJIICpYZEpg1G5hUJZd2M5eXQpe0TpqyWaCQS4laY5ZTbZVPepFji5aFlZGopJezp5eauqSPpotgs45ixJB71ZaR2ZCX7KCq"
            + "BKUHBqMWDqQ4HalgKKiHMaShP6S4Uq2uRJ5hUaFKZaZUcKJngaKNiJ2gn626n6SomZl/o5tttaZtxKt10KeH16ST6q6m6aql"
            + "ALQNBrQdD7ZCGrdoJraTM7esQLa2TLqfQa1XW7xVXa1kdbKQg66+krjFjraTjLByma9uqLF4tK6KvKuP276e4LqL2a9j3rJZ"
            + "AL0MCccnFMhNGMFwJL+dN8m2QcmlPsCAScNeU8JcacOGc72ihsTDj8q4erpuisNkmcJ2q8WIwcyhzculuKt+zrl22sNb6NBW"
            + "AM0OC9UpE9RTGtB9Ks+vOde2PNmCOs5gSM1iXNJ+as+leNKshNuUcsdphtxxjNd4odier9qkt9mNssl3x9GIz82A49yB5Nt2"
            + "C98YCtsoFdpXJuCNNeDAOd60O95xPttWU99yX9mOdt/AgOG2cdZsfOBahONrlemLp+Wytee0qtl9vOF4yNyD2uOQ6+uV19N6";

    @Test
    void jpegDecodesLikePillow() throws IOException {
        // Both decoders are IJG-derived with the same defaults (integer IDCT, "fancy" triangular
        // chroma upsampling), so they agree to the bit (measured: 0 differing bytes); one level of
        // slack allows for another JDK's libjpeg build.
        RgbImage img = readBytes("pillow.jpg", Base64.getDecoder().decode(PILLOW_JPEG));
        byte[] expected = Base64.getDecoder().decode(PILLOW_JPEG_PIXELS);
        byte[] got = img.toByteArray();
        assertEquals(24, img.width());
        assertEquals(16, img.height());
        assertEquals(expected.length, got.length);
        for (int i = 0; i < got.length; i++) {
            assertTrue(Math.abs((got[i] & 0xFF) - (expected[i] & 0xFF)) <= 1, "byte " + i);
        }
    }

    @Test
    void jpegColourProfilesAreNotApplied() throws IOException {
        // The same pixels written with and without an embedded ICC profile (PhotoYCC, far from sRGB)
        // decode identically: like Pillow, the reader does no colour management.
        BufferedImage img = gradient(16, 16).toBufferedImage();
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        IIOMetadata metadata = writer.getDefaultImageMetadata(new ImageTypeSpecifier(img), param);
        String format = "javax_imageio_jpeg_image_1.0";
        IIOMetadataNode root = (IIOMetadataNode) metadata.getAsTree(format);
        IIOMetadataNode icc = new IIOMetadataNode("app2ICC");
        icc.setUserObject(ICC_Profile.getInstance(ColorSpace.CS_PYCC));
        root.getElementsByTagName("app0JFIF").item(0).appendChild(icc);
        metadata.setFromTree(format, root);
        Path tagged = dir.resolve("icc.jpg");
        try (ImageOutputStream out = ImageIO.createImageOutputStream(tagged.toFile())) {
            writer.setOutput(out);
            writer.write(null, new IIOImage(img, null, metadata), param);
        } finally {
            writer.dispose();
        }
        assertTrue(Files.size(tagged) > 2000, "the profile should be embedded");
        Path plain = writeWithImageIO(img, "jpeg", "plain.jpg", false, 0);
        assertEquals(ImageFiles.read(plain), ImageFiles.read(tagged));
    }

    private void assertUnreadable(Path f, String expectedCause) {
        UnreadableImageException e = assertThrows(UnreadableImageException.class, () -> ImageFiles.read(f));
        assertTrue(e.getMessage().startsWith(f.toString() + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expectedCause), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    @Test
    void badFilesGiveOneLineNamingTheFileAndTheCause() throws IOException {
        assertUnreadable(dir.resolve("missing.png"), "no such file");
        assertUnreadable(dir, "is a directory");
        assertUnreadable(Files.write(dir.resolve("empty.png"), new byte[0]), "is empty");
        assertUnreadable(Files.writeString(dir.resolve("notes.png"), "hello"), "is not a PNG or JPEG file (it starts with bytes 68 65 6c 6c)");

        byte[] good = png(2, 8, 2, new byte[][] {bytes(1, 2, 3, 4, 5, 6)});
        assertUnreadable(Files.write(dir.resolve("cut.png"), Arrays.copyOf(good, good.length - 20)), "truncated PNG");
        byte[] flipped = good.clone();
        flipped[42] ^= 1; // inside the IDAT chunk's data (it starts at byte 41)
        assertUnreadable(Files.write(dir.resolve("crc.png"), flipped), "CRC mismatch");
        // IDAT holding fewer bytes than the header promises.
        byte[] shortData = png(4, 8, 2, new byte[][] {bytes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)});
        byte[] lying = shortData.clone();
        System.arraycopy(chunk("IHDR", ihdr(4, 3, 8, 2, 0)), 0, lying, 8, 25);
        assertUnreadable(Files.write(dir.resolve("short.png"), lying), "truncated PNG image data");
        assertUnreadable(Files.write(dir.resolve("depth.png"),
                png(1, 3, 2, new byte[][] {bytes(0)})), "colour type 2 with bit depth 3");
        assertUnreadable(Files.write(dir.resolve("noplte.png"), png(1, 8, 3, new byte[][] {bytes(0)})), "without a PLTE");

        byte[] jpegHeaderOnly = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 0, 0, 0};
        assertUnreadable(Files.write(dir.resolve("bad.jpg"), jpegHeaderOnly), "damaged or unsupported JPEG");
    }
}
