package io.hicache.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.pipeline.InputShapes;
import io.hicache.core.pipeline.TextEmbeddings;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * {@code --prompt-embeds FILE}: precomputed conditioning, row i for prompt index i. Holds
 * {@code prompt_embeds} [B, L, D] and, for models that use one (only for those), {@code pooled_prompt_embeds} [B, P];
 * {@code hicache encode-prompts} also records the prompts in the metadata entry {@code prompts}
 * (a JSON list). The rows define the prompts of a run: prompts given besides must match them.
 */
final class EmbeddingsFile implements Conditioning {
    static final String OPTION = "--prompt-embeds";
    /** The metadata entry with the prompts the rows were encoded from, a JSON list of strings. */
    static final String PROMPTS = "prompts";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path path;
    private final BatchTensorFile tokens;
    private final BatchTensorFile pooled;

    private EmbeddingsFile(Path path, BatchTensorFile tokens, BatchTensorFile pooled) {
        this.path = path;
        this.tokens = tokens;
        this.pooled = pooled;
    }

    /**
     * The prompts of a run from {@code path}: see {@link #prompts(List)}.
     *
     * @param given the prompts given on the command line, maybe none
     */
    static List<String> prompts(Path path, List<String> given) {
        try (EmbeddingsFile file = open(path)) {
            return file.prompts(given);
        }
    }

    /** Opens {@code path} and checks its widths against what {@code model} takes. */
    static EmbeddingsFile open(Path path, InputShapes shapes, String model) {
        EmbeddingsFile file = open(path);
        try {
            file.check(shapes, model);
            return file;
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** Opens {@code path} and checks its tensors' ranks and that they hold the same rows. */
    private static EmbeddingsFile open(Path path) {
        BatchTensorFile tokens = BatchTensorFile.open(path, OPTION, "prompt_embeds", 3, 1);
        BatchTensorFile pooled = null;
        try {
            if (tokens.contains("pooled_prompt_embeds")) {
                pooled = BatchTensorFile.open(path, OPTION, "pooled_prompt_embeds", 2, 1);
                if (pooled.shape()[0] != tokens.shape()[0]) {
                    throw new UsageException(OPTION + ": prompt_embeds " + Arrays.toString(tokens.shape())
                            + " and pooled_prompt_embeds " + Arrays.toString(pooled.shape()) + " hold different numbers of prompts");
                }
            }
            return new EmbeddingsFile(path, tokens, pooled);
        } catch (RuntimeException e) {
            tokens.close();
            if (pooled != null) {
                pooled.close();
            }
            throw e;
        }
    }

    String fileName() {
        return tokens.fileName();
    }

    int rows() {
        return (int) Math.min(Integer.MAX_VALUE, tokens.shape()[0]);
    }

    /**
     * The prompt of each row: {@code given} when not empty (one per row, each equal to the prompt the
     * file records for its row, if it records any), else the recorded prompts, else empty texts (the
     * images' parameters then name only the row).
     */
    List<String> prompts(List<String> given) {
        List<String> recorded = recordedPrompts();
        if (given.isEmpty()) {
            return recorded != null ? recorded : Collections.nCopies(rows(), "");
        }
        if (given.size() != rows()) {
            throw new UsageException(OPTION + ": " + path + " holds " + rows() + " row(s), one per prompt, but "
                    + given.size() + " prompt(s) are given");
        }
        for (int i = 0; recorded != null && i < given.size(); i++) {
            if (!given.get(i).equals(recorded.get(i))) {
                throw new UsageException(OPTION + ": prompt " + i + " is '" + Errors.abbreviate(given.get(i))
                        + "', but row " + i + " of " + path + " was encoded from '" + Errors.abbreviate(recorded.get(i))
                        + "'");
            }
        }
        return given;
    }

    /** The prompts recorded in the metadata, checked like a prompt file's, or null when there are none. */
    private List<String> recordedPrompts() {
        String text = tokens.metadata().get(PROMPTS);
        if (text == null) {
            return null;
        }
        JsonNode list;
        try {
            list = JSON.readTree(text);
        } catch (IOException e) {
            list = null;
        }
        if (list == null || !list.isArray() || list.size() != rows()) {
            throw new UsageException(OPTION + ": " + path + ": its '" + PROMPTS + "' metadata is not a JSON list of "
                    + rows() + " prompt(s), one per row");
        }
        List<String> prompts = new ArrayList<>();
        for (JsonNode p : list) {
            if (!p.isTextual()) {
                throw new UsageException(OPTION + ": " + path + ": its '" + PROMPTS + "' metadata holds " + p
                        + ", not a prompt");
            }
            Prompts.checkText(p.asText(), OPTION + ": " + path + ": row " + prompts.size() + " of its '" + PROMPTS
                    + "' metadata", false);
            prompts.add(p.asText());
        }
        return prompts;
    }

    private void check(InputShapes model, String modelName) {
        long width = tokens.shape()[2];
        if (width != model.tokenWidth()) {
            throw new UsageException(OPTION + ": prompt_embeds of " + path + " are " + width + " wide "
                    + Arrays.toString(tokens.shape()) + ", but the model " + modelName + " takes " + model.tokenWidth());
        }
        if (model.pooledWidth() > 0) {
            if (pooled == null) {
                throw new UsageException(OPTION + ": " + path + " has no pooled_prompt_embeds, which the model "
                        + modelName + " needs ([B, " + model.pooledWidth() + "])");
            }
            if (pooled.shape()[1] != model.pooledWidth()) {
                throw new UsageException(OPTION + ": pooled_prompt_embeds of " + path + " are " + pooled.shape()[1]
                        + " wide " + Arrays.toString(pooled.shape()) + ", but the model " + modelName + " takes "
                        + model.pooledWidth());
            }
        } else if (pooled != null) {
            throw new UsageException(OPTION + ": " + path + " has pooled_prompt_embeds, which the model " + modelName
                    + " does not take (it is conditioned on prompt_embeds alone)");
        }
    }

    @Override
    public TextEmbeddings forJob(Job job) throws Exception {
        return new TextEmbeddings(tokens.item(job.promptIndex()), pooled == null ? null : pooled.item(job.promptIndex()));
    }

    @Override
    public void close() {
        tokens.close();
        if (pooled != null) {
            pooled.close();
        }
    }
}
