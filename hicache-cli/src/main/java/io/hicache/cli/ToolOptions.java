package io.hicache.cli;

import ai.djl.Device;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.runtime.TensorType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Options the tool subcommands share (mixins), with the same names and meaning as generation's. */
final class ToolOptions {
    private ToolOptions() {}

    /** Prompts from a file and/or the command line. */
    static final class Prompts {
        @Option(names = {"--prompt-file", "--prompt_file"}, paramLabel = "FILE",
                description = "Prompts: UTF-8 text, one a line, or .tsv with a Prompt column.")
        Path file;

        @Option(names = "--prompt", paramLabel = "TEXT", description = "A prompt (repeatable; after the file's).")
        List<String> inline = new ArrayList<>();

        List<String> collect() {
            return io.hicache.cli.Prompts.collect(file, inline);
        }
    }

    /** One model on one device. */
    static final class Model {
        @Option(names = "--backend", defaultValue = "flux", paramLabel = "NAME", completionCandidates = InstalledBackends.class,
                description = "Model family, one of those installed: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
        String backend;

        @Option(names = {"--model-path", "--model_path"}, paramLabel = "MODEL", converter = PathArguments.ModelPath.class,
                description = "Model folder, checkpoint or builtin:NAME (default: see above).")
        String path;

        @Option(names = "--device", paramLabel = "cpu|gpu", description = "Device (default: the first GPU, else the CPU).")
        String device;

        @Option(names = "--gpus", paramLabel = "ID", description = "GPU to use (the first listed).")
        String gpus;

        @Option(names = "--dtype", paramLabel = "TYPE",
                description = "Compute dtype: bfloat16 or float32 (default: bf16 on GPU, f32 on CPU).")
        String dtype;

        /** The backend; an image-editing one is refused (these tools make and encode prompts without images). */
        Backend backend() {
            Backend b = Backend.named(backend);
            if (b.conditionImages() > 0) {
                throw new IllegalArgumentException("the " + b.name() + " backend edits images: this command takes no "
                        + "condition image (use it from the generate command with --image)");
            }
            return b;
        }

        String path(Backend b) {
            return path == null ? b.defaultModel() : path;
        }

        Device device() {
            return DeviceChoice.parse(gpus, device).resolve().get(0);
        }

        TensorType dtype(Device d) {
            return dtype == null ? DeviceChoice.defaultDtype(List.of(d)) : TensorType.parseCompute(dtype);
        }
    }
}
