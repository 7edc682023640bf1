package io.hicache.cli;

import io.hicache.core.pipeline.TextEmbeddings;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * {@code --prompt-embeds FILE}: precomputed conditioning, row i for prompt index i. Holds
 * {@code prompt_embeds} [B, L, D] and, for models that use one, {@code pooled_prompt_embeds} [B, P].
 */
final class EmbeddingsFile implements Conditioning {
    static final String OPTION = "--prompt-embeds";
    private final BatchTensorFile tokens;
    private final BatchTensorFile pooled;

    private EmbeddingsFile(BatchTensorFile tokens, BatchTensorFile pooled) {
        this.tokens = tokens;
        this.pooled = pooled;
    }

    /** Opens and checks {@code path} for a run whose prompt indices go up to {@code prompts - 1}. */
    static EmbeddingsFile open(Path path, int prompts) {
        BatchTensorFile tokens = BatchTensorFile.open(path, OPTION, "prompt_embeds", 3, prompts);
        BatchTensorFile pooled = null;
        try {
            if (tokens.contains("pooled_prompt_embeds")) {
                pooled = BatchTensorFile.open(path, OPTION, "pooled_prompt_embeds", 2, prompts);
                if (pooled.shape()[0] != tokens.shape()[0]) {
                    throw new UsageException(OPTION + ": prompt_embeds " + Arrays.toString(tokens.shape())
                            + " and pooled_prompt_embeds " + Arrays.toString(pooled.shape()) + " hold different numbers of prompts");
                }
            }
            return new EmbeddingsFile(tokens, pooled);
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
