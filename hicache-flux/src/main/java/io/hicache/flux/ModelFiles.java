package io.hicache.flux;

import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.ConfigJson;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Locating the files of a diffusers model folder, with errors that say how to get a missing one. */
public final class ModelFiles {
    private ModelFiles() {}

    /** What a user can do about a missing component file. */
    public static String howToGet(Path dir) {
        return "expected the diffusers layout of a FLUX.1 model folder (the Hugging Face repository"
                + " black-forest-labs/FLUX.1-dev or FLUX.1-schnell, downloaded with all its subfolders),"
                + " or a tiny test model written by `hicache init-tiny`; " + dir + " is the component folder";
    }

    /**
     * Checks a component's compute type: float32 or bfloat16. float16 is refused because T5 overflows
     * in it (transformers keeps T5's wo in float32 for that reason) and CPU GEMM in it is very slow.
     */
    public static TensorType requireComputeType(TensorType dtype) {
        if (dtype != TensorType.F32 && dtype != TensorType.BF16) {
            throw new IllegalArgumentException("compute dtype must be float32 or bfloat16, got " + dtype.displayName());
        }
        return dtype;
    }

    /** {@code dir/name}, which must be a regular file. */
    public static Path require(Path dir, String name) throws IOException {
        Path p = dir.resolve(name);
        if (!Files.isRegularFile(p)) {
            throw new NoSuchFileException(p.toString(), null, "missing " + name + ": " + howToGet(dir));
        }
        return p;
    }

    /**
     * The safetensors weights of a component folder: {@code *.safetensors.index.json} with its shards,
     * or the folder's {@code *.safetensors} files.
     */
    public static WeightStore openWeights(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "missing component folder: " + howToGet(dir));
        }
        try {
            return WeightStore.open(dir);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(e.getFile(), null, e.getReason() + ": " + howToGet(dir));
        }
    }

    /** Parses {@code dir/name} as a JSON object. */
    public static ConfigJson readConfig(Path dir, String name) throws IOException {
        return ConfigJson.read(require(dir, name));
    }
}
