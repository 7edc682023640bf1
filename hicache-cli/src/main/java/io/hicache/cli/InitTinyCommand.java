package io.hicache.cli;

import io.hicache.core.pipeline.Backend;
import io.hicache.core.runtime.TensorType;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hicache init-tiny flux DIR}: writes a tiny model with random weights in the real on-disk layout. */
@Command(header = "Writes a tiny model with random weights in a backend's real folder layout.", name = "init-tiny", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class, sortOptions = false, usageHelpAutoWidth = true,
        description = "Writes a tiny model of a backend's architecture with seeded random weights, in the backend's "
                + "real folder layout (config files, safetensors, tokenizers), for tests and trying things out.")
public final class InitTinyCommand extends ToolCommand {
    @Parameters(index = "0", paramLabel = "BACKEND", completionCandidates = InstalledBackends.class,
            description = "The backend: ${COMPLETION-CANDIDATES}.")
    String backend;

    @Parameters(index = "1", paramLabel = "DIR", description = "Directory to create (must not exist or be empty).")
    Path dir;

    @Option(names = "--seed", defaultValue = "0", description = "Weight seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--dtype", defaultValue = "float32", description = "Stored weight dtype: float32 or bfloat16 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--sharded", description = "Split large components into shards with an index, like the real repositories.")
    boolean sharded;

    @Override
    void run(PrintWriter out) throws Exception {
        Backend b = Backend.named(backend);
        TensorType type = TensorType.parseCompute(dtype);
        if (Files.exists(dir) && (!Files.isDirectory(dir) || Files.list(dir).findAny().isPresent())) {
            throw new IllegalArgumentException(dir + " exists and is not an empty directory");
        }
        b.writeTinyModel(dir, seed, type, sharded);
        out.println("wrote a tiny " + b.name() + " model to " + dir + " (seed " + seed + ", " + type.displayName()
                + (sharded ? ", sharded" : "") + "); use it with --backend " + b.name() + " --model-path " + dir);
    }
}
