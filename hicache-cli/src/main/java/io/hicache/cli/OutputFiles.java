package io.hicache.cli;

import io.hicache.core.image.GenerationParameters;
import io.hicache.core.image.PngReader;
import io.hicache.core.image.PngWriter;
import io.hicache.core.image.RgbImage;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import io.hicache.core.weights.SafetensorsFile;
import io.hicache.core.weights.SafetensorsWriter;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The launcher's image and latent files, each carrying the generation parameters: PNGs with text
 * chunks, safetensors with a {@code parameters} metadata entry. Files
 * appear atomically (temporary name, then rename), so a reader never sees half a file.
 */
final class OutputFiles {
    static final String PARAMETERS = "parameters";
    /** The PNG text key of the launcher's exact parameter record (JSON). */
    static final String RECORD = "hicache";
    static final String LATENTS = "latents";

    private OutputFiles() {}

    /**
     * Writes a PNG whose text chunks carry the generation parameters the way image tools show them
     * (an A1111-style {@code parameters} text plus one key per field) and this launcher's exact
     * record under {@value #RECORD}, which resume compares.
     */
    static void writePng(Path file, BufferedImage image, GenerationParameters shown, String record) throws IOException {
        Map<String, String> text = new LinkedHashMap<>(shown.toPngText());
        text.put(RECORD, record);
        PngWriter.write(file, RgbImage.fromBufferedImage(image), text);
    }

    /**
     * Decodes the whole PNG (so a damaged file is noticed) and returns the launcher's record, or
     * null when it has none.
     *
     * @throws IOException when the file is not a decodable PNG
     */
    static String readPngParameters(Path file) throws IOException {
        PngReader.checkIntegrity(file);
        try {
            Map<String, String> text = PngReader.readText(file);
            PngReader.readImage(file);
            return text.get(RECORD);
        } catch (RuntimeException e) {
            throw new IOException("not a valid PNG: " + e, e);
        }
    }

    /** Writes {@code latents} (F32 [1, C, H/8, W/8]) to a safetensors file. */
    static void writeLatents(Path file, HostTensor latents, String parameters) throws IOException {
        new SafetensorsWriter()
                .metadata(PARAMETERS, parameters)
                .add(LATENTS, TensorType.F32, latents.shape(), latents.littleEndianBytes())
                .write(file);
    }

    /**
     * Validates a latents file (header, sizes, a 4-d float {@code latents} tensor) and returns its
     * {@code parameters}, or null when it has none.
     *
     * @throws IOException when the file is not a valid latents file
     */
    static String readLatentsParameters(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            if (!f.contains(LATENTS) || f.info(LATENTS).type() != TensorType.F32
                    || f.info(LATENTS).shapeArray().length != 4) {
                throw new IOException(file + " has no F32 4-d 'latents' tensor (it has " + f.names() + ", "
                        + (f.contains(LATENTS) ? Arrays.toString(f.info(LATENTS).shapeArray()) : "") + ")");
            }
            // as written: the header, then exactly the tensor's bytes
            long expected = 8 + headerLength(file) + f.info(LATENTS).byteSize();
            if (f.names().size() != 1 || f.info(LATENTS).begin() != 0 || Files.size(file) != expected) {
                throw new IOException(file + " is " + Files.size(file) + " bytes, but its header describes "
                        + expected);
            }
            return f.metadata().get(PARAMETERS);
        }
    }

    private static long headerLength(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (length.hasRemaining() && ch.read(length) >= 0) {
                // read on
            }
            return length.getLong(0);
        }
    }

    /**
     * Checks that an output file is whole and undamaged, as far as its format tells: a PNG's
     * chunk CRCs, a latents file's header and sizes.
     *
     * @throws IOException saying what is wrong
     */
    static void checkIntact(Path file) throws IOException {
        if (file.getFileName().toString().endsWith(".png")) {
            PngReader.checkIntegrity(file);
        } else {
            readLatentsParameters(file);
        }
    }
}
