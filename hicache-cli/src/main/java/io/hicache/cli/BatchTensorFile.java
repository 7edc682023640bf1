package io.hicache.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.weights.SafetensorsFile;
import io.hicache.core.weights.TensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * A tensor in a safetensors file whose first axis is a batch ({@code --prompt-embeds},
 * {@code --init-noise}), read one item at a time: the file is memory-mapped and only the rows a
 * worker asks for are copied, so a file of thousands of prompts costs no heap up front.
 */
final class BatchTensorFile implements AutoCloseable {
    private final SafetensorsFile file;
    private final TensorInfo info;
    private final long itemBytes;

    private BatchTensorFile(SafetensorsFile file, TensorInfo info) {
        this.file = file;
        this.info = info;
        this.itemBytes = info.shapeArray()[0] == 0 ? 0 : info.byteSize() / info.shapeArray()[0];
    }

    /**
     * Opens tensor {@code name} of {@code path} and checks it is a float tensor of {@code rank} axes
     * with at least {@code needed} items.
     *
     * @param option the command-line option, for messages
     */
    static BatchTensorFile open(Path path, String option, String name, int rank, int needed) {
        if (Files.isDirectory(path)) {
            throw new UsageException(option + ": " + path + " is a directory, not a safetensors file");
        }
        SafetensorsFile file;
        try {
            file = SafetensorsFile.open(path);
        } catch (NoSuchFileException e) {
            throw new UsageException(option + ": no such file: " + path);
        } catch (IOException e) {
            throw new UsageException(option + ": " + Errors.about(path, e));
        }
        try {
            if (!file.contains(name)) {
                throw new UsageException(option + ": " + path + " has no tensor '" + name + "' (it has "
                        + String.join(", ", file.names()) + ")");
            }
            TensorInfo info = file.info(name);
            long[] shape = info.shapeArray();
            if (!info.type().isFloatingPoint()) {
                throw new UsageException(option + ": tensor '" + name + "' is " + info.type() + ", expected a float type");
            }
            if (shape.length != rank) {
                throw new UsageException(option + ": tensor '" + name + "' has shape " + Arrays.toString(shape)
                        + ", expected " + rank + " axes");
            }
            if (shape[0] < needed) {
                throw new UsageException(option + ": tensor '" + name + "' holds " + shape[0] + " item(s), but this run "
                        + "needs " + needed + " (one per " + (name.equals("latents") ? "image" : "prompt") + " index)");
            }
            return new BatchTensorFile(file, info);
        } catch (RuntimeException e) {
            closeQuietly(file);
            throw e;
        }
    }

    /** Whether the same file holds a tensor named {@code name}. */
    boolean contains(String name) {
        return file.contains(name);
    }

    /** The file's metadata entries. */
    Map<String, String> metadata() {
        return file.metadata();
    }

    long[] shape() {
        return info.shapeArray();
    }

    /** The tensor's name in the file. */
    String tensorName() {
        return info.name();
    }

    String fileName() {
        return file.path().getFileName().toString();
    }

    /** Item {@code i} as f32 on the heap, keeping a batch axis of 1. */
    HostTensor item(int i) throws IOException {
        long[] shape = info.shapeArray().clone();
        shape[0] = 1;
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            return HostTensor.of(Kernels.on(Device.cpu()).fromBytes(
                    file.bytes(info.name(), i * itemBytes, itemBytes), info.type(), new Shape(shape), manager));
        }
    }

    @Override
    public void close() {
        closeQuietly(file);
    }

    private static void closeQuietly(SafetensorsFile f) {
        try {
            f.close();
        } catch (IOException e) {
            // read-only mapping: nothing to lose
        }
    }
}
