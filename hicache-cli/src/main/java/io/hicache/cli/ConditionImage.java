package io.hicache.cli;

import io.hicache.core.image.ImageFiles;
import io.hicache.core.image.RgbImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The condition image of a prompt (image-editing backends), as a run records it: the path as given
 * (on the command line, or in the prompt file's {@code Image} column), its size and a hash of its
 * bytes, so that images made from another picture under the same name are not taken as done. The
 * pixels are not kept: a worker reads the file again for each image it makes.
 *
 * @param path the path as written, recorded in the manifest and the image metadata
 * @param file where the file is (a prompt file's paths are relative to its folder)
 * @param width its width in pixels
 * @param height its height in pixels
 * @param sha256 the first 16 hex digits of the SHA-256 of the file's bytes
 */
record ConditionImage(String path, Path file, int width, int height, String sha256) {
    /**
     * Reads and decodes {@code file}; a missing, unreadable or undecodable file is a usage error
     * naming {@code where} (the option or the prompt file's line).
     */
    static Loaded read(String path, Path file, String where) {
        try {
            byte[] bytes = ImageFiles.bytes(file); // its messages say what is wrong with the file
            RgbImage image = ImageFiles.decode(file, bytes);
            return new Loaded(new ConditionImage(path, file, image.width(), image.height(), hash(bytes)), image);
        } catch (IOException e) {
            throw new UsageException(where + ": cannot read the image " + Errors.oneLine(imageError(file, e)), e);
        }
    }

    /** An image and its pixels, as read when the run is checked. */
    record Loaded(ConditionImage image, RgbImage pixels) {}

    /**
     * The pixels, read again when a worker makes an image.
     *
     * @throws IOException when the file cannot be read or is no longer the picture the run checked
     */
    RgbImage load() throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (!hash(bytes).equals(sha256)) {
            throw new IOException("the condition image " + file + " changed after the run started");
        }
        return ImageFiles.decode(file, bytes);
    }

    /** The size as shown in records, e.g. {@code 256x200}. */
    String size() {
        return width + "x" + height;
    }

    private static IOException imageError(Path file, IOException e) {
        if (e instanceof ImageFiles.UnreadableImageException) {
            return e;
        }
        if (e instanceof java.nio.file.NoSuchFileException) {
            return new IOException(file + ": no such file");
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return new IOException(file + ": permission denied");
        }
        return new IOException(file + ": " + Errors.oneLine(e), e);
    }

    static String hash(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
