package io.hicache.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.pipeline.HostTensor;
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
    private final BatchTensorFile negativeTokens;
    private final BatchTensorFile negativePooled;
    private final BatchTensorFile mask;
    private final BatchTensorFile negativeMask;

    private EmbeddingsFile(Path path, BatchTensorFile tokens, BatchTensorFile pooled, BatchTensorFile negativeTokens,
            BatchTensorFile negativePooled, BatchTensorFile mask, BatchTensorFile negativeMask) {
        this.path = path;
        this.tokens = tokens;
        this.pooled = pooled;
        this.negativeTokens = negativeTokens;
        this.negativePooled = negativePooled;
        this.mask = mask;
        this.negativeMask = negativeMask;
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

    /**
     * Opens {@code path} and checks its widths against what {@code model} takes.
     *
     * @param negativeNeeded a negative prompt is given for true CFG: the file must carry its embeddings
     */
    static EmbeddingsFile open(Path path, InputShapes shapes, String model, boolean negativeNeeded) {
        EmbeddingsFile file = open(path);
        try {
            file.check(shapes, model);
            if (negativeNeeded && !file.hasNegative()) {
                throw new UsageException(OPTION + ": " + path + " has no negative_prompt_embeds for the negative "
                        + "prompt (no text encoder is loaded with " + OPTION + "): write them with hicache "
                        + "encode-prompts --negative-prompt TEXT");
            }
            return file;
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /**
     * Opens {@code path} and checks its tensors' ranks and that they hold the same rows; the negative
     * prompt's {@code negative_prompt_embeds} (and {@code negative_pooled_prompt_embeds}) are optional
     * and, when present, shaped as the positive ones.
     */
    private static EmbeddingsFile open(Path path) {
        List<BatchTensorFile> opened = new ArrayList<>();
        try {
            BatchTensorFile tokens = add(opened, BatchTensorFile.open(path, OPTION, "prompt_embeds", 3, 1));
            BatchTensorFile pooled = tokens.contains("pooled_prompt_embeds")
                    ? add(opened, BatchTensorFile.open(path, OPTION, "pooled_prompt_embeds", 2, 1)) : null;
            BatchTensorFile negTokens = tokens.contains("negative_prompt_embeds")
                    ? add(opened, BatchTensorFile.open(path, OPTION, "negative_prompt_embeds", 3, 1)) : null;
            BatchTensorFile negPooled = tokens.contains("negative_pooled_prompt_embeds")
                    ? add(opened, BatchTensorFile.open(path, OPTION, "negative_pooled_prompt_embeds", 2, 1)) : null;
            // rows of models whose text length varies are padded to the longest; a mask [B, L] says how far
            BatchTensorFile mask = tokens.contains("prompt_embeds_mask")
                    ? add(opened, BatchTensorFile.open(path, OPTION, "prompt_embeds_mask", 2, 1)) : null;
            BatchTensorFile negMask = tokens.contains("negative_prompt_embeds_mask")
                    ? add(opened, BatchTensorFile.open(path, OPTION, "negative_prompt_embeds_mask", 2, 1)) : null;
            sameShape(pooled, negPooled, "pooled_prompt_embeds", "negative_pooled_prompt_embeds");
            long[] tokenRows = {tokens.shape()[0], tokens.shape()[1]};
            for (BatchTensorFile m : new BatchTensorFile[] {mask, negMask}) {
                if (m != null && !Arrays.equals(m.shape(), tokenRows)) {
                    throw new UsageException(OPTION + ": " + m.tensorName() + " " + Arrays.toString(m.shape())
                            + " must be [B, L] of prompt_embeds " + Arrays.toString(tokens.shape()));
                }
            }
            for (BatchTensorFile t : opened) {
                if (t.shape()[0] != tokens.shape()[0]) {
                    throw new UsageException(OPTION + ": prompt_embeds " + Arrays.toString(tokens.shape()) + " and "
                            + t.tensorName() + " " + Arrays.toString(t.shape()) + " hold different numbers of prompts");
                }
            }
            if (negTokens != null && !Arrays.equals(negTokens.shape(), tokens.shape())) {
                throw new UsageException(OPTION + ": negative_prompt_embeds " + Arrays.toString(negTokens.shape())
                        + " must be shaped as prompt_embeds " + Arrays.toString(tokens.shape()));
            }
            return new EmbeddingsFile(path, tokens, pooled, negTokens, negPooled, mask, negMask);
        } catch (RuntimeException e) {
            opened.forEach(BatchTensorFile::close);
            throw e;
        }
    }

    private static BatchTensorFile add(List<BatchTensorFile> opened, BatchTensorFile t) {
        opened.add(t);
        return t;
    }

    /** A pooled tensor and its negative come together, with the same shape. */
    private static void sameShape(BatchTensorFile a, BatchTensorFile b, String nameA, String nameB) {
        if (b != null && (a == null || !Arrays.equals(a.shape(), b.shape()))) {
            throw new UsageException(OPTION + ": " + nameB + (a == null ? " without " + nameA
                    : " " + Arrays.toString(b.shape()) + " must be shaped as " + nameA + " " + Arrays.toString(a.shape())));
        }
    }

    /** Whether the file carries the negative prompt's embeddings (for true classifier-free guidance). */
    boolean hasNegative() {
        return negativeTokens != null;
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
            if (negativeTokens != null && negativePooled == null) {
                throw new UsageException(OPTION + ": " + path + " has negative_prompt_embeds but no "
                        + "negative_pooled_prompt_embeds, which the model " + modelName + " needs");
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
        return new TextEmbeddings(kept(tokens, mask, job.promptIndex()),
                pooled == null ? null : pooled.item(job.promptIndex()));
    }

    /** Row {@code i} of {@code t} [1, L, D], cut to the tokens its mask keeps when there is a mask. */
    private HostTensor kept(BatchTensorFile t, BatchTensorFile rowMask, int i) throws IOException {
        HostTensor row = t.item(i);
        if (rowMask == null) {
            return row;
        }
        float[] m = rowMask.item(i).data();
        int length = 0;
        while (length < m.length && m[length] == 1f) {
            length++;
        }
        for (int j = length; j < m.length; j++) {
            if (m[j] != 0f) {
                throw new IOException(path + ": row " + i + " of " + rowMask.tensorName()
                        + " is not ones followed by zeros (right padding)");
            }
        }
        if (length == 0) {
            throw new IOException(path + ": row " + i + " of " + rowMask.tensorName() + " keeps no token");
        }
        long d = row.dim(2);
        return new HostTensor(new long[] {1, length, d}, Arrays.copyOf(row.data(), Math.toIntExact(length * d)));
    }

    @Override
    public TextEmbeddings negativeForJob(Job job) throws Exception {
        if (negativeTokens == null) {
            return null;
        }
        return new TextEmbeddings(kept(negativeTokens, negativeMask, job.promptIndex()),
                negativePooled == null ? null : negativePooled.item(job.promptIndex()));
    }

    @Override
    public void close() {
        for (BatchTensorFile t : new BatchTensorFile[] {tokens, pooled, negativeTokens, negativePooled, mask,
            negativeMask}) {
            if (t != null) {
                t.close();
            }
        }
    }
}
