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
import java.util.List;

/**
 * Qwen-Image's prompt encoding (diffusers' {@code _get_qwen_prompt_embeds} and
 * {@code encode_prompt}): fill the template, tokenize (right padding for batches), run the
 * language model with the padding mask, keep the valid tokens of each row, drop the template's
 * first {@link QwenPromptTemplate#dropStart()} tokens, keep at most {@code maxSequenceLength}, and
 * zero-pad the rows to the longest with a mask. Owns the tokenizer and the encoder; {@link #close()}
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

    /** Refuses a tokenizer whose template prefix is not the {@code template.dropStart()} tokens the pipeline drops. */
    public static void checkTemplate(Qwen2Tokenizer tokenizer, QwenPromptTemplate template) throws IOException {
        int prefix = tokenizer.encode(template.prefix()).length;
        if (prefix != template.dropStart()) {
            throw new IOException(tokenizer.origin() + ": the prompt template's prefix is " + prefix
                    + " tokens, but the pipeline drops " + template.dropStart() + ": not the Qwen2 tokenizer of Qwen-Image");
        }
    }

    /**
     * Loads {@code modelDir/tokenizer} and {@code modelDir/text_encoder} with the T2I template; on
     * failure nothing stays loaded.
     */
    public static QwenPromptEncoder load(Path modelDir, TensorType dtype, NDManager manager, int maxSequenceLength)
            throws IOException {
        Qwen2Tokenizer tokenizer = Qwen2Tokenizer.load(modelDir.resolve("tokenizer"));
        QwenTextEncoder encoder = null;
        try {
            encoder = QwenTextEncoder.load(modelDir.resolve("text_encoder"), dtype, manager);
            return new QwenPromptEncoder(tokenizer, encoder, QwenPromptTemplate.TEXT_TO_IMAGE, maxSequenceLength);
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

    /** The token batch of {@code prompts} in the template (what {@link #encode} runs the encoder on). */
    public QwenPromptBatch tokenize(List<String> prompts) {
        return QwenPromptBatch.of(tokenizer, template, prompts, maxSequenceLength);
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
