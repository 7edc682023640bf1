package io.hicache.flux.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.text.HfTokenizers;
import io.hicache.core.util.TextFiles;
import io.hicache.flux.ModelFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * FLUX's T5 prompt tokenizer ({@code T5TokenizerFast} from {@code tokenizer_2/tokenizer.json}):
 * SentencePiece-unigram content ids, then {@code </s>}, padded with {@code <pad>} to a fixed length
 * (512 for FLUX.1-dev, 256 for schnell) and truncated to it keeping the {@code </s>}.
 */
public final class T5Tokenizer implements AutoCloseable {
    public static final int DEV_MAX_LENGTH = 512;
    public static final int SCHNELL_MAX_LENGTH = 256;
    static final String EOS = "</s>";
    static final String PAD = "<pad>";

    private final HuggingFaceTokenizer tokenizer;
    private final int maxLength;
    private final long eosId;
    private final long padId;

    private T5Tokenizer(HuggingFaceTokenizer tokenizer, int maxLength, long eosId, long padId) {
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.eosId = eosId;
        this.padId = padId;
    }

    /** Loads {@code dir/tokenizer.json}; every prompt becomes exactly {@code maxLength} ids. */
    public static T5Tokenizer load(Path dir, int maxLength) throws IOException {
        if (maxLength < 1) {
            throw new IllegalArgumentException("max sequence length must be positive, got " + maxLength);
        }
        Path file = ModelFiles.require(dir, "tokenizer.json");
        String json = TextFiles.readUtf8(file);
        JsonNode root = HfTokenizers.parse(json, file);
        long eos = HfTokenizers.tokenId(root, EOS, file);
        long pad = HfTokenizers.tokenId(root, PAD, file);
        return new T5Tokenizer(HfTokenizers.contentOnly(json, file), maxLength, eos, pad);
    }

    /**
     * The {@code model_max_length} of {@code dir/tokenizer_config.json}: the longest sequence the
     * encoder was trained on, so a pipeline never pads beyond it. Absent file or key: no limit.
     */
    public static int modelMaxLength(Path dir) throws IOException {
        Path file = dir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(file)) {
            return Integer.MAX_VALUE;
        }
        JsonNode n = HfTokenizers.parse(TextFiles.readUtf8(file), file).get("model_max_length");
        if (n == null || !n.canConvertToInt()) {
            return Integer.MAX_VALUE; // transformers writes 1e30 for "unbounded"
        }
        if (n.intValue() < 1) {
            throw new InvalidModelException(file + ": model_max_length must be positive, got " + n.intValue());
        }
        return n.intValue();
    }

    public int maxLength() {
        return maxLength;
    }

    public long eosId() {
        return eosId;
    }

    public long padId() {
        return padId;
    }

    /** The content ids of {@code text}, without {@code </s>}, untruncated. */
    public long[] contentIds(String text) {
        return tokenizer.encode(text).getIds();
    }

    /** {@code maxLength} ids: content (truncated to maxLength − 1), {@code </s>}, then padding. */
    public long[] encode(String prompt) {
        long[] content = contentIds(prompt);
        long[] ids = new long[maxLength];
        Arrays.fill(ids, padId);
        int n = Math.min(content.length, maxLength - 1);
        System.arraycopy(content, 0, ids, 0, n);
        ids[n] = eosId;
        return ids;
    }

    /** Ids [B, maxLength] (int64) of {@code prompts} on {@code manager}. */
    public NDArray encode(List<String> prompts, NDManager manager) {
        long[] all = new long[prompts.size() * maxLength];
        for (int i = 0; i < prompts.size(); i++) {
            System.arraycopy(encode(prompts.get(i)), 0, all, i * maxLength, maxLength);
        }
        return manager.create(all, new Shape(prompts.size(), maxLength));
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
