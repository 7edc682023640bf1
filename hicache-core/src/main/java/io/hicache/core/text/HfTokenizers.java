package io.hicache.core.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.runtime.HiCacheRuntime;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * Loading {@code tokenizer.json} documents into DJL's HuggingFace tokenizers binding. The tokenizer
 * only splits text into content ids: special tokens, truncation and padding are applied by the
 * prompt tokenizers themselves, so they behave the same whatever post-processor or padding settings
 * a particular tokenizer.json carries.
 */
public final class HfTokenizers {
    public static final ObjectMapper JSON = new ObjectMapper();

    private HfTokenizers() {}

    public static JsonNode parse(String json, Path origin) throws IOException {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new InvalidModelException(origin + ": not valid JSON: " + e.getMessage().replace('\n', ' '), e);
        }
    }

    /** A tokenizer that returns content ids only (no special tokens, no truncation, no padding). */
    public static HuggingFaceTokenizer contentOnly(String json, Path origin) throws IOException {
        HiCacheRuntime.configureOffline(); // the binding calls home on creation unless offline
        Map<String, String> options = Map.of("addSpecialTokens", "false", "padding", "false", "truncation", "false");
        try {
            return HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), options);
        } catch (RuntimeException e) {
            throw new InvalidModelException(origin + ": the tokenizers library rejected it: " + e.getMessage(), e);
        }
    }

    /** The id of {@code token}: from {@code added_tokens}, else from the model's vocabulary. */
    public static long tokenId(JsonNode tokenizer, String token, Path origin) throws IOException {
        for (JsonNode t : tokenizer.path("added_tokens")) {
            if (token.equals(t.path("content").asText(null))) {
                return t.path("id").asLong();
            }
        }
        JsonNode vocab = tokenizer.path("model").path("vocab");
        if (vocab.isObject() && vocab.has(token)) {
            return vocab.get(token).asLong();
        }
        if (vocab.isArray()) { // Unigram: [[piece, score], ...], the id is the position
            for (int i = 0; i < vocab.size(); i++) {
                if (token.equals(vocab.get(i).path(0).asText(null))) {
                    return i;
                }
            }
        }
        throw new InvalidModelException(origin + ": the vocabulary has no token " + token);
    }
}
