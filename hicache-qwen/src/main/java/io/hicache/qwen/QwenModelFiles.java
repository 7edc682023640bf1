package io.hicache.qwen;

import io.hicache.core.pipeline.PipelineSpec.Component;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Where the parts of a Qwen-Image model live: a folder in the layout of the Hugging Face repository
 * {@code Qwen/Qwen-Image} ({@code model_index.json}, {@code scheduler/}, {@code transformer/},
 * {@code text_encoder/}, {@code tokenizer/}, {@code vae/}).
 */
public final class QwenModelFiles {
    /** Shown with every "missing" message. */
    public static final String HOW_TO_GET = "download Qwen/Qwen-Image with all its subfolders, e.g. "
            + "`huggingface-cli download Qwen/Qwen-Image --local-dir DIR`, and pass --model-path DIR (or set "
            + "$QWEN_IMAGE_MODEL_PATH); or try the built-in tiny model with --model-path builtin:qwen-image-tiny";

    private final Path root;

    private QwenModelFiles(Path root) {
        this.root = root;
    }

    public static QwenModelFiles of(Path dir) {
        return new QwenModelFiles(dir.toAbsolutePath().normalize());
    }

    public Path root() {
        return root;
    }

    public Path modelIndex() {
        return root.resolve("model_index.json");
    }

    public Path transformerDir() {
        return root.resolve("transformer");
    }

    public Path schedulerConfig() {
        return root.resolve("scheduler").resolve("scheduler_config.json");
    }

    public Path textEncoderDir() {
        return root.resolve("text_encoder");
    }

    public Path tokenizerDir() {
        return root.resolve("tokenizer");
    }

    public Path vaeDir() {
        return root.resolve("vae");
    }

    /**
     * Everything the components need that is not there, as "what (where)" phrases; empty when the
     * model is complete for them. Reads no weights.
     */
    public List<String> missing(Set<Component> components) throws IOException {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            out.add("the model folder itself (" + root + ")");
            return out;
        }
        requireFile(out, modelIndex(), "model index");
        // the transformer config also gives the text width the encoder must produce
        requireFile(out, transformerDir().resolve("config.json"), "transformer config");
        if (components.contains(Component.TRANSFORMER)) {
            requireWeights(out, transformerDir(), "transformer weights");
            requireFile(out, schedulerConfig(), "scheduler config");
        }
        if (components.contains(Component.TEXT_ENCODERS)) {
            requireFile(out, textEncoderDir().resolve("config.json"), "text encoder config");
            requireWeights(out, textEncoderDir(), "text encoder weights");
            if (!Files.isRegularFile(tokenizerDir().resolve("tokenizer.json"))) {
                requireFile(out, tokenizerDir().resolve("vocab.json"), "tokenizer vocabulary");
                requireFile(out, tokenizerDir().resolve("merges.txt"), "tokenizer merges");
                requireFile(out, tokenizerDir().resolve("tokenizer_config.json"), "tokenizer config (added tokens)");
            }
        }
        if (components.contains(Component.VAE)) {
            requireFile(out, vaeDir().resolve("config.json"), "VAE config");
            requireWeights(out, vaeDir(), "VAE weights");
        }
        return out;
    }

    private static void requireFile(List<String> out, Path p, String what) {
        if (!Files.isRegularFile(p)) {
            out.add(what + " (" + p + ")");
        }
    }

    private static void requireWeights(List<String> out, Path dir, String what) throws IOException {
        if (!Files.isDirectory(dir)) {
            out.add(what + " (" + dir + "/*.safetensors)");
            return;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.safetensors*")) {
            if (!s.iterator().hasNext()) {
                out.add(what + " (" + dir + "/*.safetensors)");
            }
        }
    }
}
