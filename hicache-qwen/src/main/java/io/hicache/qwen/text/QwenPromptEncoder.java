package io.hicache.qwen.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Qwen-Image's prompt encoding (diffusers' {@code _get_qwen_prompt_embeds} and
 * {@code encode_prompt}): fill the template, tokenize (right padding for batches), run the
 * language model with the padding mask, keep the valid tokens of each row, drop the template's
 * first {@link QwenPromptTemplate#dropStart()} tokens, keep at most {@code maxSequenceLength}, and
 * zero-pad the rows to the longest with a mask; with an image (Qwen-Image-Edit) one prompt at a
 * time, the image's features in place of its vision tokens ({@link #encodeWithImage}). Owns the
 * tokenizer and the encoder; {@link #close()}
 * frees the encoder's weights (16.6 GB in bf16 for the real model) as soon as prompts are encoded.
 */
public final class QwenPromptEncoder implements AutoCloseable {
    /**
     * Prompt embeddings [B, L, hidden] in the encoder's dtype, zero after each row's length, and the
     * mask [B, L] (int64 ones and zeros); L is the longest row.
     */
    public record Embeddings(NDArray embeddings, NDArray mask, int[] lengths) implements AutoCloseable {
        @Override
        public void close() {
            embeddings.close();
            mask.close();
        }
    }

    private final Qwen2Tokenizer tokenizer;
    private final QwenTextEncoder encoder;
    private final QwenPromptTemplate template;
    private final int maxSequenceLength;

    public QwenPromptEncoder(Qwen2Tokenizer tokenizer, QwenTextEncoder encoder, QwenPromptTemplate template,
            int maxSequenceLength) throws IOException {
        if (maxSequenceLength < 1 || maxSequenceLength > QwenPromptBatch.MAX_SEQUENCE_LENGTH_LIMIT) {
            throw new IllegalArgumentException("max sequence length must be 1 to "
                    + QwenPromptBatch.MAX_SEQUENCE_LENGTH_LIMIT + ", got " + maxSequenceLength);
        }
        checkTemplate(tokenizer, template);
        this.tokenizer = tokenizer;
        this.encoder = encoder;
        this.template = template;
        this.maxSequenceLength = maxSequenceLength;
    }

    /**
     * Refuses a tokenizer whose template prefix is not the {@code template.dropStart()} tokens the
     * pipeline drops, or, for a template with an image, whose vision tokens are not single added tokens.
     */
    public static void checkTemplate(Qwen2Tokenizer tokenizer, QwenPromptTemplate template) throws IOException {
        int prefix = tokenizer.encode(template.dropped()).length;
        if (prefix != template.dropStart()) {
            throw new IOException(tokenizer.origin() + ": the prompt template's prefix is " + prefix
                    + " tokens, but the pipeline drops " + template.dropStart() + ": not the Qwen2 tokenizer of Qwen-Image");
        }
        if (template.hasImage()) {
            long[] block = tokenizer.encode(QwenPromptTemplate.IMAGE_BLOCK);
            long[] expected = {tokenizer.tokenId(QwenPromptTemplate.VISION_START),
                    tokenizer.tokenId(QwenPromptTemplate.IMAGE_PAD), tokenizer.tokenId(QwenPromptTemplate.VISION_END)};
            if (!Arrays.equals(block, expected)) {
                throw new IOException(tokenizer.origin() + ": " + QwenPromptTemplate.IMAGE_BLOCK + " tokenizes to "
                        + Arrays.toString(block) + ", not the three added tokens " + Arrays.toString(expected));
            }
        }
    }

    /**
     * Loads {@code modelDir/tokenizer} and {@code modelDir/text_encoder} with the T2I template; on
     * failure nothing stays loaded.
     */
    public static QwenPromptEncoder load(Path modelDir, TensorType dtype, NDManager manager, int maxSequenceLength)
            throws IOException {
        return load(modelDir, dtype, manager, QwenPromptTemplate.TEXT_TO_IMAGE, maxSequenceLength);
    }

    /**
     * Loads {@code modelDir/tokenizer} and {@code modelDir/text_encoder} with {@code template}
     * ({@link QwenPromptTemplate#EDIT} for Qwen-Image-Edit, where {@code maxSequenceLength} goes
     * unused: prompts with an image are never truncated); on failure nothing stays loaded.
     */
    public static QwenPromptEncoder load(Path modelDir, TensorType dtype, NDManager manager,
            QwenPromptTemplate template, int maxSequenceLength) throws IOException {
        Qwen2Tokenizer tokenizer = Qwen2Tokenizer.load(modelDir.resolve("tokenizer"));
        QwenTextEncoder encoder = null;
        try {
            encoder = QwenTextEncoder.load(modelDir.resolve("text_encoder"), dtype, manager);
            return new QwenPromptEncoder(tokenizer, encoder, template, maxSequenceLength);
        } catch (IOException | RuntimeException e) {
            tokenizer.close();
            if (encoder != null) {
                encoder.close();
            }
            throw e;
        }
    }

    public Qwen2Tokenizer tokenizer() {
        return tokenizer;
    }

    public QwenTextEncoder encoder() {
        return encoder;
    }

    public int maxSequenceLength() {
        return maxSequenceLength;
    }

    /** Bytes of the encoder's weights. */
    public long parameterBytes() {
        return encoder.parameterBytes();
    }

    public QwenPromptTemplate template() {
        return template;
    }

    /** The token batch of {@code prompts} in the template (what {@link #encode} runs the encoder on). */
    public QwenPromptBatch tokenize(List<String> prompts) {
        if (template.hasImage()) {
            throw new IllegalStateException("the prompt template holds an image: encode with the image's features"
                    + " (encodeWithImage)");
        }
        return QwenPromptBatch.of(tokenizer, template, prompts, maxSequenceLength);
    }

    /**
     * The token ids of {@code prompt} in the template with an image of {@code image_grid_thw =
     * (gridT, gridH, gridW)} patches: its {@code <|image_pad|>} expanded to one copy per vision token.
     */
    public QwenPromptBatch tokenizeWithImage(String prompt, int gridT, int gridH, int gridW) {
        if (!template.hasImage()) {
            throw new IllegalStateException("the prompt template holds no image");
        }
        int n = MultimodalRope.imageTokens(gridT, gridH, gridW, MultimodalRope.SPATIAL_MERGE_SIZE);
        return QwenPromptBatch.withImage(tokenizer, template, prompt, n);
    }

    /**
     * Embeddings [1, L, hidden] (in the encoder's dtype, on {@code manager}) of {@code prompt} with
     * an image, as diffusers' {@code QwenImageEditPipeline._get_qwen_prompt_embeds} makes them: the
     * template's image pad is expanded to the image's vision tokens, their embeddings are replaced by
     * {@code imageFeatures} [gridT·gridH·gridW/4, hidden] (the vision tower's output in its merged
     * order), positions follow {@code get_rope_index}, and the first {@code dropStart} states are
     * dropped, so L counts {@code <|vision_start|>}, the vision tokens, {@code <|vision_end|>}, the
     * prompt and the 5-token suffix. Nothing is truncated; the negative prompt is encoded the same
     * way, with the same image.
     */
    public NDArray encodeWithImage(String prompt, NDArray imageFeatures, int gridT, int gridH, int gridW,
            NDManager manager) {
        QwenPromptBatch batch = tokenizeWithImage(prompt, gridT, gridH, gridW);
        long[] ids = batch.ids()[0];
        long imagePad;
        try {
            imagePad = tokenizer.tokenId(QwenPromptTemplate.IMAGE_PAD);
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        long[][] positions = MultimodalRope.imagePositions(ids, imagePad, gridT, gridH, gridW,
                MultimodalRope.SPATIAL_MERGE_SIZE);
        try (NDManager scope = manager.newSubManager()) {
            NDArray hidden = encoder.encodeWithImage(batch.idsArray(scope), imagePad, imageFeatures, positions);
            NDArray kept = hidden.get(new NDIndex(":, " + batch.dropStart() + ":"));
            kept.attach(manager);
            return kept;
        }
    }

    /** {@link #encodeWithImage(String, NDArray, int, int, int, NDManager)} on the heap, as the pipeline consumes it. */
    public TextEmbeddings encodeWithImage(String prompt, NDArray imageFeatures, int gridT, int gridH, int gridW) {
        try (NDManager scope = imageFeatures.getManager().newSubManager()) {
            return new TextEmbeddings(HostTensor.of(encodeWithImage(prompt, imageFeatures, gridT, gridH, gridW, scope)),
                    null);
        }
    }

    /** Embeddings of {@code prompts}, on {@code manager}. */
    public Embeddings encode(List<String> prompts, NDManager manager) {
        QwenPromptBatch batch = tokenize(prompts);
        int drop = batch.dropStart();
        int kept = batch.length() - drop;
        int[] lengths = new int[batch.size()];
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = batch.keptLength(i);
        }
        try (NDManager scope = manager.newSubManager()) {
            NDArray ids = batch.idsArray(scope);
            NDArray fullMask = batch.maskArray(scope);
            NDArray hidden = encoder.encode(ids, batch.padded() ? fullMask : null);
            NDArray keptHidden = hidden.get(new NDIndex(":, " + drop + ":"));
            NDArray mask = fullMask.get(new NDIndex(":, " + drop + ":"));
            // rows are right-padded, so row i's kept tokens are its first lengths[i]; the rest become 0
            NDArray scale = Precision.cast(mask.toType(DataType.FLOAT32, false), encoder.dtype());
            NDArray out = keptHidden.mul(scale.reshape(batch.size(), kept, 1));
            out.attach(manager);
            mask.attach(manager);
            return new Embeddings(out, mask, lengths);
        }
    }

    /** The embeddings of one prompt [1, L, hidden] on the heap, as the pipeline consumes them. */
    public TextEmbeddings encode(String prompt, NDManager manager) {
        try (NDManager scope = manager.newSubManager(); Embeddings e = encode(List.of(prompt), scope)) {
            return new TextEmbeddings(HostTensor.of(e.embeddings()), null);
        }
    }

    /** Frees the tokenizer and the encoder's weights. */
    @Override
    public void close() {
        try {
            encoder.close();
        } finally {
            tokenizer.close();
        }
    }
}
