package io.hicache.flux;

import io.hicache.core.pipeline.PipelineSpec.Component;
import io.hicache.core.weights.MissingFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Where the parts of a FLUX.1 model live. A model is either a folder in the diffusers layout of the
 * Hugging Face repositories ({@code transformer/}, {@code scheduler/}, {@code text_encoder/},
 * {@code text_encoder_2/}, {@code tokenizer/}, {@code tokenizer_2/}, {@code vae/}), or a BFL
 * single-file transformer ({@code flux1-dev.safetensors}) whose other parts are looked up in the
 * folder that holds it (the VAE may then also be BFL's {@code ae.safetensors}).
 */
public final class FluxModelFiles {
    /** Shown with every "missing" message. */
    public static final String HOW_TO_GET = "download black-forest-labs/FLUX.1-dev (or FLUX.1-schnell) with all its "
            + "subfolders, e.g. `huggingface-cli download black-forest-labs/FLUX.1-dev --local-dir DIR`, and pass "
            + "--model-path DIR; or try the built-in tiny model with --model-path builtin:flux-tiny";

    private final Path root;
    private final Path bflTransformer;

    private FluxModelFiles(Path root, Path bflTransformer) {
        this.root = root;
        this.bflTransformer = bflTransformer;
    }

    /** A model folder, or a {@code .safetensors} BFL transformer file. */
    public static FluxModelFiles of(Path path) {
        Path p = path.toAbsolutePath().normalize();
        if (Files.isRegularFile(p) && p.getFileName().toString().endsWith(".safetensors")) {
            return new FluxModelFiles(p.getParent(), p);
        }
        return new FluxModelFiles(p, null);
    }

    public Path root() {
        return root;
    }

    /** The BFL transformer file, or null for the diffusers layout. */
    public Path bflTransformer() {
        return bflTransformer;
    }

    public Path transformerDir() {
        return root.resolve("transformer");
    }

    public Path schedulerConfig() {
        return root.resolve("scheduler").resolve("scheduler_config.json");
    }

    public Path clipDir() {
        return root.resolve("text_encoder");
    }

    public Path t5Dir() {
        return root.resolve("text_encoder_2");
    }

    public Path clipTokenizerDir() {
        return root.resolve("tokenizer");
    }

    public Path t5TokenizerDir() {
        return root.resolve("tokenizer_2");
    }

    public Path vaeDir() {
        return root.resolve("vae");
    }

    /** BFL's {@code ae.safetensors}, used when there is no {@code vae/} folder. */
    public Path bflVae() {
        return root.resolve("ae.safetensors");
    }

    /** True when the VAE comes from {@code ae.safetensors}. */
    public boolean usesBflVae() {
        return !Files.isDirectory(vaeDir()) && Files.isRegularFile(bflVae());
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
        if (components.contains(Component.TRANSFORMER)) {
            if (bflTransformer == null) {
                out.file(transformerDir().resolve("config.json"), "transformer config");
                out.weights(transformerDir(), "transformer weights");
            }
            out.file(schedulerConfig(), "scheduler config");
        }
        if (components.contains(Component.TEXT_ENCODERS)) {
            out.file(clipDir().resolve("config.json"), "CLIP text encoder config");
            out.weights(clipDir(), "CLIP text encoder weights");
            out.file(t5Dir().resolve("config.json"), "T5 text encoder config");
            out.weights(t5Dir(), "T5 text encoder weights");
            if (!Files.isRegularFile(clipTokenizerDir().resolve("tokenizer.json"))) {
                out.file(clipTokenizerDir().resolve("vocab.json"), "CLIP tokenizer vocabulary");
                out.file(clipTokenizerDir().resolve("merges.txt"), "CLIP tokenizer merges");
            }
            out.file(t5TokenizerDir().resolve("tokenizer.json"), "T5 tokenizer");
        }
        if (components.contains(Component.VAE) && !usesBflVae()) {
            out.file(vaeDir().resolve("config.json"), "VAE config");
            out.weights(vaeDir(), "VAE weights");
        }
        return out.list();
    }
}
