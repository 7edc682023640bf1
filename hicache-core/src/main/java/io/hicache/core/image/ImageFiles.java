package io.hicache.core.image;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Reads a PNG or JPEG file as the 8-bit RGB pixels Pillow gives for
 * {@code Image.open(file).convert("RGB")}, the way Qwen-Image-Edit's reference scripts load an input
 * image:
 *
 * <ul>
 *   <li>Alpha (an alpha channel or a {@code tRNS} chunk) is dropped, not composited: the stored
 *       colour of a transparent pixel is kept.
 *   <li>Grey becomes R = G = B. Grey of 1, 2 and 4 bits is scaled to 0..255 (×255, ×85, ×17); 16-bit
 *       grey is clipped to 255 (Pillow's {@code I;16 → RGB}), so only values up to 255 keep their level.
 *   <li>16-bit colour channels, and 16-bit grey with alpha, keep their most significant byte.
 *   <li>Palette images are looked up in {@code PLTE}; an index past its end reads black.
 *   <li>Gamma ({@code gAMA}), colour profiles ({@code iCCP}, a JPEG's ICC profile) and EXIF
 *       orientation are ignored, as Pillow's {@code convert("RGB")} ignores them.
 * </ul>
 *
 * PNG is decoded here (so the rules above hold exactly); JPEG is decoded by ImageIO's libjpeg with
 * its own YCbCr → RGB conversion and no colour management, which agrees with Pillow's libjpeg to
 * within the rounding of the two decoders' IDCT and chroma upsampling. CMYK JPEGs are refused.
 */
public final class ImageFiles {
    /** Adam7 passes: x start, y start, x step, y step. */
    private static final int[][] ADAM7 = {
        {0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}
    };

    private ImageFiles() {}

    /**
     * A file that is missing, unreadable, empty, not a PNG or JPEG, or damaged; the message is one
     * line naming the file and the cause.
     */
    public static final class UnreadableImageException extends IOException {
        private static final long serialVersionUID = 1L;

        public UnreadableImageException(Path file, String cause) {
            super(file + ": " + cause);
        }

        public UnreadableImageException(Path file, String cause, Throwable t) {
            super(file + ": " + cause, t);
        }
    }

    /** The RGB pixels of a PNG or JPEG file (see the class comment for how other layouts map to RGB). */
    public static RgbImage read(Path file) throws UnreadableImageException {
        return decode(file, bytes(file));
    }

    /** The bytes of an image file, with the same errors as {@link #read} for a file that cannot be read. */
    public static byte[] bytes(Path file) throws UnreadableImageException {
        byte[] bytes;
        try {
            if (Files.isDirectory(file)) {
                throw new UnreadableImageException(file, "is a directory, not an image file");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new UnreadableImageException(file, "no such file", e);
        } catch (UnreadableImageException e) {
            throw e;
        } catch (IOException | OutOfMemoryError e) {
            throw new UnreadableImageException(file, "cannot be read (" + oneLine(e) + ")", e);
        }
        if (bytes.length == 0) {
            throw new UnreadableImageException(file, "is empty");
        }
        return bytes;
    }

    /** The RGB pixels of the PNG or JPEG {@code bytes} read from {@code file} (named in errors). */
    public static RgbImage decode(Path file, byte[] bytes) throws UnreadableImageException {
        if (startsWith(bytes, PngWriter.SIGNATURE)) {
            return new PngDecoder(file, bytes).decode();
        }
        if (bytes.length >= 3 && (bytes[0] & 0xFF) == 0xFF && (bytes[1] & 0xFF) == 0xD8 && (bytes[2] & 0xFF) == 0xFF) {
            return readJpeg(file, bytes);
        }
        StringBuilder head = new StringBuilder();
        for (int i = 0; i < Math.min(4, bytes.length); i++) {
            head.append(i == 0 ? "" : " ").append(String.format("%02x", bytes[i] & 0xFF));
        }
        throw new UnreadableImageException(file, "is not a PNG or JPEG file (it starts with bytes " + head + ")");
    }

    private static RgbImage readJpeg(Path file, byte[] bytes) throws UnreadableImageException {
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName("jpeg");
        if (!readers.hasNext()) {
            throw new UnreadableImageException(file, "no JPEG decoder is available in this Java runtime");
        }
        ImageReader reader = readers.next();
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            reader.setInput(in, true, true);
            int width = reader.getWidth(0);
            int height = reader.getHeight(0);
            if (width < 1 || height < 1 || 3L * width * height > Integer.MAX_VALUE - 8) {
                throw new UnreadableImageException(file, "unsupported JPEG size " + width + "x" + height);
            }
            ImageReadParam param = reader.getDefaultReadParam();
            Iterator<javax.imageio.ImageTypeSpecifier> types = reader.getImageTypes(0);
            if (!types.hasNext()) {
                throw new UnreadableImageException(file, "unsupported JPEG colour space (CMYK or YCCK?)");
            }
            int bands = types.next().getNumBands();
            if (bands != 1 && bands != 3) {
                throw new UnreadableImageException(file, "unsupported JPEG with " + bands + " colour channels");
            }
            // Naming the bands keeps ImageIO from converting a JPEG's embedded ICC profile to sRGB
            // (Pillow does no colour management): libjpeg's YCbCr → RGB is the only conversion.
            int[] all = new int[bands];
            Arrays.setAll(all, i -> i);
            param.setSourceBands(all);
            param.setDestinationBands(all);
            BufferedImage image = reader.read(0, param);
            Raster raster = image.getRaster();
            byte[] rgb = new byte[3 * width * height];
            int[] row = new int[width * bands];
            for (int y = 0; y < height; y++) {
                raster.getPixels(0, y, width, 1, row);
                for (int x = 0; x < width; x++) {
                    int o = 3 * (y * width + x);
                    if (bands == 1) {
                        rgb[o] = rgb[o + 1] = rgb[o + 2] = (byte) row[x];
                    } else {
                        rgb[o] = (byte) row[3 * x];
                        rgb[o + 1] = (byte) row[3 * x + 1];
                        rgb[o + 2] = (byte) row[3 * x + 2];
                    }
                }
            }
            return RgbImage.wrap(width, height, rgb);
        } catch (UnreadableImageException e) {
            throw e;
        } catch (IOException | RuntimeException | OutOfMemoryError e) {
            throw new UnreadableImageException(file, "damaged or unsupported JPEG (" + oneLine(e) + ")", e);
        } finally {
            reader.dispose();
        }
    }

    private static boolean startsWith(byte[] bytes, byte[] prefix) {
        return bytes.length >= prefix.length && Arrays.equals(bytes, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replaceAll("\\s+", " ").trim();
    }

    /** A PNG decoder for every colour type and bit depth of the PNG specification, interlaced or not. */
    private static final class PngDecoder {
        private final Path file;
        private final ByteBuffer in;
        private int width;
        private int height;
        private int bitDepth;
        private int colorType;
        private boolean interlaced;
        private byte[] palette = new byte[0];

        PngDecoder(Path file, byte[] bytes) {
            this.file = file;
            this.in = ByteBuffer.wrap(bytes);
        }

        RgbImage decode() throws UnreadableImageException {
            in.position(PngWriter.SIGNATURE.length);
            ByteArrayOutputStream idat = new ByteArrayOutputStream();
            boolean header = false;
            for (int n = 0; ; n++) {
                if (in.remaining() < 8) {
                    throw damaged("truncated PNG (no IEND chunk)");
                }
                long length = in.getInt() & 0xFFFFFFFFL;
                byte[] typeBytes = new byte[4];
                in.get(typeBytes);
                String type = new String(typeBytes, StandardCharsets.ISO_8859_1);
                if (length > in.remaining() - 4L) {
                    throw damaged("truncated PNG (in chunk " + n + ")");
                }
                byte[] data = new byte[(int) length];
                in.get(data);
                CRC32 crc = new CRC32();
                crc.update(typeBytes);
                crc.update(data);
                if (in.getInt() != (int) crc.getValue()) {
                    throw damaged("damaged PNG (CRC mismatch in chunk " + n + ")");
                }
                if (n == 0 && !type.equals("IHDR")) {
                    throw damaged("damaged PNG (the first chunk is not IHDR)");
                }
                switch (type) {
                    case "IHDR" -> {
                        readHeader(data);
                        header = true;
                    }
                    case "PLTE" -> {
                        if (data.length % 3 != 0 || data.length == 0 || data.length > 3 * 256) {
                            throw damaged("damaged PNG (PLTE chunk of " + data.length + " bytes)");
                        }
                        palette = data;
                    }
                    case "IDAT" -> idat.writeBytes(data);
                    case "IEND" -> {
                        if (!header) {
                            throw damaged("damaged PNG (no IHDR chunk)");
                        }
                        return pixels(idat.toByteArray());
                    }
                    default -> {
                        // Ancillary chunks (text, gamma, colour profile, physical size, ...) do not
                        // change the pixels Pillow reads; an unknown critical chunk would.
                        if (Character.isUpperCase(type.charAt(0))) {
                            throw damaged("unsupported PNG (unknown critical chunk " + printable(type) + ")");
                        }
                    }
                }
            }
        }

        private void readHeader(byte[] data) throws UnreadableImageException {
            if (data.length != 13) {
                throw damaged("damaged PNG (IHDR chunk of " + data.length + " bytes)");
            }
            ByteBuffer h = ByteBuffer.wrap(data);
            long w = h.getInt() & 0xFFFFFFFFL;
            long ht = h.getInt() & 0xFFFFFFFFL;
            bitDepth = h.get() & 0xFF;
            colorType = h.get() & 0xFF;
            int compression = h.get() & 0xFF;
            int filter = h.get() & 0xFF;
            int interlace = h.get() & 0xFF;
            boolean validDepth = switch (colorType) {
                case 0 -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8 || bitDepth == 16;
                case 3 -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8;
                case 2, 4, 6 -> bitDepth == 8 || bitDepth == 16;
                default -> false;
            };
            if (!validDepth) {
                throw damaged("damaged PNG (colour type " + colorType + " with bit depth " + bitDepth + ")");
            }
            if (compression != 0 || filter != 0 || interlace > 1) {
                throw damaged("damaged PNG (unknown compression, filter or interlace method)");
            }
            if (w < 1 || ht < 1 || 3 * w * ht > Integer.MAX_VALUE - 8) {
                throw damaged("unsupported PNG size " + w + "x" + ht);
            }
            width = (int) w;
            height = (int) ht;
            interlaced = interlace == 1;
        }

        private int channels() {
            return switch (colorType) {
                case 2 -> 3;
                case 4 -> 2;
                case 6 -> 4;
                default -> 1;
            };
        }

        private RgbImage pixels(byte[] compressed) throws UnreadableImageException {
            if (colorType == 3 && palette.length == 0) {
                throw damaged("damaged PNG (palette image without a PLTE chunk)");
            }
            int bitsPerPixel = channels() * bitDepth;
            int[][] passes = interlaced ? ADAM7 : new int[][] {{0, 0, 1, 1}};
            long rawSize = 0;
            for (int[] p : passes) {
                long pw = passWidth(p);
                long ph = passHeight(p);
                if (pw > 0 && ph > 0) {
                    rawSize += ph * (1 + (pw * bitsPerPixel + 7) / 8);
                }
            }
            if (rawSize > Integer.MAX_VALUE - 8) {
                throw damaged("unsupported PNG size " + width + "x" + height + " at " + bitsPerPixel + " bits per pixel");
            }
            byte[] raw = inflate(compressed, (int) rawSize);
            byte[] rgb = new byte[3 * width * height];
            int offset = 0;
            int bytesPerPixel = Math.max(1, bitsPerPixel / 8);
            for (int[] p : passes) {
                int pw = passWidth(p);
                int ph = passHeight(p);
                if (pw == 0 || ph == 0) {
                    continue;
                }
                int rowBytes = (int) (((long) pw * bitsPerPixel + 7) / 8);
                byte[] previous = new byte[rowBytes];
                byte[] current = new byte[rowBytes];
                for (int y = 0; y < ph; y++) {
                    int filter = raw[offset] & 0xFF;
                    System.arraycopy(raw, offset + 1, current, 0, rowBytes);
                    offset += 1 + rowBytes;
                    unfilter(filter, current, previous, bytesPerPixel);
                    int imageY = p[1] + y * p[3];
                    for (int x = 0; x < pw; x++) {
                        store(current, x, rgb, 3 * (imageY * width + p[0] + x * p[2]));
                    }
                    byte[] t = previous;
                    previous = current;
                    current = t;
                }
            }
            return RgbImage.wrap(width, height, rgb);
        }

        private int passWidth(int[] p) {
            return width <= p[0] ? 0 : (width - p[0] + p[2] - 1) / p[2];
        }

        private int passHeight(int[] p) {
            return height <= p[1] ? 0 : (height - p[1] + p[3] - 1) / p[3];
        }

        private byte[] inflate(byte[] compressed, int size) throws UnreadableImageException {
            Inflater inflater = new Inflater();
            try {
                inflater.setInput(compressed);
                byte[] out = new byte[size];
                int n = 0;
                while (n < size) {
                    int k = inflater.inflate(out, n, size - n);
                    if (k == 0 && (inflater.finished() || inflater.needsInput() || inflater.needsDictionary())) {
                        throw damaged("truncated PNG image data (" + n + " of " + size + " bytes)");
                    }
                    n += k;
                }
                return out;
            } catch (DataFormatException e) {
                throw damaged("damaged PNG image data (" + oneLine(e) + ")");
            } finally {
                inflater.end();
            }
        }

        private void unfilter(int filter, byte[] row, byte[] up, int bpp) throws UnreadableImageException {
            switch (filter) {
                case 0 -> { }
                case 1 -> {
                    for (int i = bpp; i < row.length; i++) {
                        row[i] += row[i - bpp];
                    }
                }
                case 2 -> {
                    for (int i = 0; i < row.length; i++) {
                        row[i] += up[i];
                    }
                }
                case 3 -> {
                    for (int i = 0; i < row.length; i++) {
                        int left = i >= bpp ? row[i - bpp] & 0xFF : 0;
                        row[i] += (byte) ((left + (up[i] & 0xFF)) >>> 1);
                    }
                }
                case 4 -> {
                    for (int i = 0; i < row.length; i++) {
                        int a = i >= bpp ? row[i - bpp] & 0xFF : 0;
                        int b = up[i] & 0xFF;
                        int c = i >= bpp ? up[i - bpp] & 0xFF : 0;
                        int pa = Math.abs(b - c);
                        int pb = Math.abs(a - c);
                        int pc = Math.abs(a + b - 2 * c);
                        int predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                        row[i] += (byte) predictor;
                    }
                }
                default -> throw damaged("damaged PNG (unknown row filter " + filter + ")");
            }
        }

        /** Sample {@code channel} of pixel {@code x} in an unfiltered row, at the image's bit depth. */
        private int sample(byte[] row, int x, int channel) {
            int index = x * channels() + channel;
            return switch (bitDepth) {
                case 16 -> (row[2 * index] & 0xFF) << 8 | row[2 * index + 1] & 0xFF;
                case 8 -> row[index] & 0xFF;
                default -> {
                    int bit = index * bitDepth;
                    int shift = 8 - bitDepth - bit % 8;
                    yield (row[bit / 8] & 0xFF) >>> shift & (1 << bitDepth) - 1;
                }
            };
        }

        private void store(byte[] row, int x, byte[] rgb, int o) {
            switch (colorType) {
                case 0 -> {
                    int v = sample(row, x, 0);
                    int grey = switch (bitDepth) {
                        case 1 -> v * 255;
                        case 2 -> v * 0x55;
                        case 4 -> v * 0x11;
                        case 8 -> v;
                        default -> Math.min(v, 255); // Pillow's I;16 → RGB clips
                    };
                    rgb[o] = rgb[o + 1] = rgb[o + 2] = (byte) grey;
                }
                case 3 -> {
                    int i = sample(row, x, 0);
                    boolean inPalette = 3 * i + 2 < palette.length;
                    rgb[o] = inPalette ? palette[3 * i] : 0;
                    rgb[o + 1] = inPalette ? palette[3 * i + 1] : 0;
                    rgb[o + 2] = inPalette ? palette[3 * i + 2] : 0;
                }
                case 4 -> {
                    int v = sample(row, x, 0);
                    rgb[o] = rgb[o + 1] = rgb[o + 2] = (byte) (bitDepth == 16 ? v >>> 8 : v);
                }
                default -> { // 2 (RGB) and 6 (RGBA)
                    int shift = bitDepth == 16 ? 8 : 0;
                    rgb[o] = (byte) (sample(row, x, 0) >>> shift);
                    rgb[o + 1] = (byte) (sample(row, x, 1) >>> shift);
                    rgb[o + 2] = (byte) (sample(row, x, 2) >>> shift);
                }
            }
        }

        private UnreadableImageException damaged(String cause) {
            return new UnreadableImageException(file, cause);
        }

        private static String printable(String type) {
            return type.chars().allMatch(c -> c >= 0x20 && c < 0x7F) ? type : "(unprintable)";
        }
    }
}
