package io.hicache.qwen.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.List;

/**
 * Token ids of a batch of prompts in a chat template, right-padded to the longest with the pad id,
 * with the attention mask (1 = token, 0 = padding).
 *
 * <p>Each prompt keeps at most {@code dropStart + maxSequenceLength} tokens of its filled template.
 * diffusers tokenizes up to {@code 1024 + 34} tokens, runs the encoder and then cuts the embeddings
 * after the drop to {@code max_sequence_length}; since attention is causal, the hidden state of a
 * token does not depend on later tokens, so cutting the ids first gives the same embeddings for less
 * work.
 *
 * @param ids [batch][length] ids, padded
 * @param lengths number of real tokens per prompt
 * @param dropStart leading tokens of every row the encoder output drops
 * @param padId the id of the padding
 */
public record QwenPromptBatch(long[][] ids, int[] lengths, int dropStart, long padId) {
    /** diffusers' cap on {@code max_sequence_length} (the tokenizer holds 1024 tokens after the drop). */
    public static final int MAX_SEQUENCE_LENGTH_LIMIT = 1024;
    /** diffusers' default {@code max_sequence_length}. */
    public static final int DEFAULT_MAX_SEQUENCE_LENGTH = 512;

    /** Tokenizes {@code prompts} in {@code template}, keeping at most maxSequenceLength tokens after the drop. */
    public static QwenPromptBatch of(Qwen2Tokenizer tokenizer, QwenPromptTemplate template, List<String> prompts,
            int maxSequenceLength) {
        if (maxSequenceLength < 1 || maxSequenceLength > MAX_SEQUENCE_LENGTH_LIMIT) {
            throw new IllegalArgumentException("max sequence length must be 1 to " + MAX_SEQUENCE_LENGTH_LIMIT + ", got "
                    + maxSequenceLength);
        }
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("no prompts to encode");
        }
        int keep = template.dropStart() + maxSequenceLength;
        long[][] rows = new long[prompts.size()][];
        int[] lengths = new int[prompts.size()];
        int longest = 0;
        for (int i = 0; i < rows.length; i++) {
            long[] all = tokenizer.encode(template.fill(prompts.get(i)));
            if (all.length <= template.dropStart()) {
                throw new IllegalArgumentException("prompt " + i + " in its template is " + all.length
                        + " tokens, not more than the " + template.dropStart() + " dropped ones");
            }
            rows[i] = Arrays.copyOf(all, Math.min(all.length, keep));
            lengths[i] = rows[i].length;
            longest = Math.max(longest, lengths[i]);
        }
        long[][] ids = new long[rows.length][longest];
        for (int i = 0; i < rows.length; i++) {
            Arrays.fill(ids[i], tokenizer.padId());
            System.arraycopy(rows[i], 0, ids[i], 0, rows[i].length);
        }
        return new QwenPromptBatch(ids, lengths, template.dropStart(), tokenizer.padId());
    }

    /**
     * One prompt in a template with an image, its {@code <|image_pad|>} expanded to
     * {@code imageTokens} copies before tokenising as Qwen2-VL's processor does, untruncated (the
     * Edit pipeline keeps every token).
     */
    public static QwenPromptBatch withImage(Qwen2Tokenizer tokenizer, QwenPromptTemplate template, String prompt,
            int imageTokens) {
        long[] ids = tokenizer.encode(template.fill(prompt, imageTokens));
        if (ids.length <= template.dropStart()) {
            throw new IllegalArgumentException("the prompt in its template is " + ids.length
                    + " tokens, not more than the " + template.dropStart() + " dropped ones");
        }
        return new QwenPromptBatch(new long[][] {ids}, new int[] {ids.length}, template.dropStart(),
                tokenizer.padId());
    }

    public int size() {
        return ids.length;
    }

    /** Padded length of the rows. */
    public int length() {
        return ids[0].length;
    }

    /** Tokens of row {@code i} left after the drop. */
    public int keptLength(int i) {
        return lengths[i] - dropStart;
    }

    /** True when some row is padded, i.e. the encoder needs the padding mask. */
    public boolean padded() {
        return Arrays.stream(lengths).anyMatch(l -> l != length());
    }

    /** The ids as an int64 tensor [B, T] on {@code manager}. */
    public NDArray idsArray(NDManager manager) {
        return manager.create(Arrays.stream(ids).flatMapToLong(Arrays::stream).toArray(), new Shape(size(), length()));
    }

    /** The attention mask as an int64 tensor [B, T] of ones and zeros on {@code manager}. */
    public NDArray maskArray(NDManager manager) {
        long[] mask = new long[size() * length()];
        for (int i = 0; i < size(); i++) {
            Arrays.fill(mask, i * length(), i * length() + lengths[i], 1L);
        }
        return manager.create(mask, new Shape(size(), length()));
    }
}
