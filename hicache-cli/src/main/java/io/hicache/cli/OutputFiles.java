package io.hicache.cli;

import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import io.hicache.core.weights.SafetensorsFile;
import io.hicache.core.weights.SafetensorsWriter;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.w3c.dom.Node;

/**
 * The launcher's image and latent files, each carrying the generation parameters: PNGs with a
 * {@code parameters} text chunk, safetensors with a {@code parameters} metadata entry. Files
 * appear atomically (temporary name, then rename), so a reader never sees half a file.
 */
final class OutputFiles {
    static final String PARAMETERS = "parameters";
    static final String LATENTS = "latents";
    private static final String PNG_FORMAT = "javax_imageio_png_1.0";

    private OutputFiles() {}

    static void writePng(Path file, BufferedImage image, String parameters) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        // in memory: ImageIO's default stream would buffer every image in a temporary file
        try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            IIOMetadata metadata = writer.getDefaultImageMetadata(
                    ImageTypeSpecifier.createFromRenderedImage(image), writer.getDefaultWriteParam());
            IIOMetadataNode entry = new IIOMetadataNode("tEXtEntry");
            entry.setAttribute("keyword", PARAMETERS);
            entry.setAttribute("value", parameters);
            IIOMetadataNode text = new IIOMetadataNode("tEXt");
            text.appendChild(entry);
            IIOMetadataNode root = new IIOMetadataNode(PNG_FORMAT);
            root.appendChild(text);
            metadata.mergeTree(PNG_FORMAT, root);
            writer.setOutput(out);
            writer.write(new IIOImage(image, null, metadata));
        } finally {
            writer.dispose();
        }
        AtomicFiles.write(file, bytes.toByteArray());
    }

    /**
     * Decodes the whole PNG (so a damaged file is noticed) and returns its {@code parameters} text,
     * or null when it has none.
     *
     * @throws IOException when the file is not a decodable PNG
     */
    static String readPngParameters(Path file) throws IOException {
        ImageReader reader = ImageIO.getImageReadersByFormatName("png").next();
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) {
                throw new IOException("cannot open " + file);
            }
            reader.setInput(in, true, false);
            String parameters = textChunk(reader.getImageMetadata(0).getAsTree(PNG_FORMAT), PARAMETERS);
            reader.read(0);
            return parameters;
        } catch (RuntimeException e) {
            throw new IOException("not a valid PNG: " + e, e);
        } finally {
            reader.dispose();
        }
    }

    /** The value of a tEXt, zTXt or iTXt entry named {@code keyword}, or null. */
    private static String textChunk(Node node, String keyword) {
        for (Node n = node.getFirstChild(); n != null; n = n.getNextSibling()) {
            String name = n.getNodeName();
            if ((name.equals("tEXtEntry") || name.equals("zTXtEntry") || name.equals("iTXtEntry"))
                    && keyword.equals(((IIOMetadataNode) n).getAttribute("keyword"))) {
                IIOMetadataNode e = (IIOMetadataNode) n;
                return name.equals("iTXtEntry") ? e.getAttribute("text") : e.getAttribute("value");
            }
            String inChild = textChunk(n, keyword);
            if (inChild != null) {
                return inChild;
            }
        }
        return null;
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
            return f.metadata().get(PARAMETERS);
        }
    }
}
