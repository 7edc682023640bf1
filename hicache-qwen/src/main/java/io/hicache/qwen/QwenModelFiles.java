package io.hicache.qwen;

import io.hicache.core.pipeline.PipelineSpec.Component;
import io.hicache.core.weights.MissingFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Where the parts of a Qwen-Image model live: a folder in the layout of the Hugging Face repository
 * {@code Qwen/Qwen-Image} ({@code model_index.json}, {@code scheduler/}, {@code transformer/},
 * {@code text_encoder/}, {@code tokenizer/}, {@code vae/}); for Qwen-Image-Edit the layout of
 * {@code Qwen/Qwen-Image-Edit}, the same folders plus {@code processor/}.
 */
public final class QwenModelFiles {
    /** Shown with every "missing" message. */
    public static final String HOW_TO_GET = "download Qwen/Qwen-Image with all its subfolders, e.g. "
            + "`huggingface-cli download Qwen/Qwen-Image --local-dir DIR`, and pass --model-path DIR (or set "
            + "$QWEN_IMAGE_MODEL_PATH); or try the built-in tiny model with --model-path builtin:qwen-image-tiny";

    /** Shown with every "missing" message of a Qwen-Image-Edit model. */
    public static final String HOW_TO_GET_EDIT = "download Qwen/Qwen-Image-Edit with all its subfolders, e.g. "
            + "`huggingface-cli download Qwen/Qwen-Image-Edit --local-dir DIR`, and pass --model-path DIR (or set "
            + "$QWEN_IMAGE_EDIT_MODEL_PATH); or try the built-in tiny model with --model-path "
            + "builtin:qwen-image-edit-tiny";

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

    /** {@code processor/} of Qwen-Image-Edit (Qwen2VLProcessor: {@code preprocessor_config.json} and the tokenizer files). */
    public Path processorDir() {
        return root.resolve("processor");
    }

    /**
     * What a Qwen-Image-Edit model lacks for the components, as {@link #missing}: the prompt
     * encoder (with the vision tower) also needs {@code processor/preprocessor_config.json}, and the
     * transformer the VAE, whose encoder makes the condition tokens.
     */
    public List<String> missingForEdit(Set<Component> components) throws IOException {
        List<String> out = new java.util.ArrayList<>(missing(components));
        if (!Files.isDirectory(root)) {
            return out;
        }
        MissingFiles edit = new MissingFiles();
        if (components.contains(Component.TEXT_ENCODERS)) {
            edit.file(processorDir().resolve("preprocessor_config.json"), "image processor config");
        }
        if (components.contains(Component.TRANSFORMER) && !components.contains(Component.VAE)) {
            edit.file(vaeDir().resolve("config.json"), "VAE config");
            edit.weights(vaeDir(), "VAE weights (its encoder makes the condition tokens)");
        }
        out.addAll(edit.list());
        return out;
    }

    /**
     * Everything the components need that is not there, as "what (where)" phrases; empty when the
     * model is complete for them. Reads no weights.
     */
    public List<String> missing(Set<Component> components) throws IOException {
        MissingFiles out = new MissingFiles();
        if (!Files.isDirectory(root)) {
            out.add("the model folder itself (" + root + ")");
            return out.list();
        }
        out.file(modelIndex(), "model index");
        // the transformer config also gives the text width the encoder must produce
        out.file(transformerDir().resolve("config.json"), "transformer config");
        if (components.contains(Component.TRANSFORMER)) {
            out.weights(transformerDir(), "transformer weights");
            out.file(schedulerConfig(), "scheduler config");
        }
        if (components.contains(Component.TEXT_ENCODERS)) {
            out.file(textEncoderDir().resolve("config.json"), "text encoder config");
            out.weights(textEncoderDir(), "text encoder weights");
            if (!Files.isRegularFile(tokenizerDir().resolve("tokenizer.json"))) {
                out.file(tokenizerDir().resolve("vocab.json"), "tokenizer vocabulary");
                out.file(tokenizerDir().resolve("merges.txt"), "tokenizer merges");
                out.file(tokenizerDir().resolve("tokenizer_config.json"), "tokenizer config (added tokens)");
            }
        }
        if (components.contains(Component.VAE)) {
            out.file(vaeDir().resolve("config.json"), "VAE config");
            out.weights(vaeDir(), "VAE weights");
        }
        return out.list();
    }
}
