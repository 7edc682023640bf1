package io.hicache.qwen.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Qwen2 tokenizer on the tiny vocabulary of {@link TinyQwenTokenizer}, with expectations
 * worked out by hand from the byte table, the Qwen2 pre-tokenizer rules and the model card's
 * template; the vocabulary is read back from vocab.json, so ids are looked up, not assumed.
 */
class Qwen2TokenizerTest {
    /** The 34 tokens diffusers drops: 8 structural ones and the 26 of the system sentence (Ċ is "\n"). */
    static final List<String> TEMPLATE_PREFIX = List.of("<|im_start|>", "system", "Ċ", "Describe", "Ġthe", "Ġimage",
            "Ġby", "Ġdetailing", "Ġthe", "Ġcolor", ",", "Ġshape", ",", "Ġsize", ",", "Ġtexture", ",", "Ġquantity", ",",
            "Ġtext", ",", "Ġspatial", "Ġrelationships", "Ġof", "Ġthe", "Ġobjects", "Ġand", "Ġbackground", ":",
            "<|im_end|>", "Ċ", "<|im_start|>", "user", "Ċ");
    static final List<String> TEMPLATE_SUFFIX = List.of("<|im_end|>", "Ċ", "<|im_start|>", "assistant", "Ċ");

    @TempDir
    Path dir;
    JsonNode vocab;

    @BeforeEach
    void writeTokenizer() throws IOException {
        TinyQwenTokenizer.write(dir);
        vocab = new ObjectMapper().readTree(dir.resolve("vocab.json").toFile());
    }

    /** The id of a vocabulary entry or added token, read from the files. */
    long id(String token) throws IOException {
        if (vocab.has(token)) {
            return vocab.get(token).asLong();
        }
        JsonNode added = new ObjectMapper().readTree(dir.resolve("added_tokens.json").toFile());
        if (added.has(token)) {
            return added.get(token).asLong();
        }
        throw new AssertionError("no token " + token);
    }

    long[] ids(String... tokens) throws IOException {
        long[] out = new long[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            out[i] = id(tokens[i]);
        }
        return out;
    }

    @Test
    void addedTokensComeFirstThenNfcBytesAndBpe() throws IOException {
        try (Qwen2Tokenizer t = Qwen2Tokenizer.load(dir)) {
            // "e" + combining acute (U+0301) becomes é (C3 A9) under NFC; 猫 is E7 8C AB; digits go one by one
            String text = "<|im_start|>user\nA cat, 12 cafe\u0301 猫<|im_end|>";
            assertArrayEquals(ids("<|im_start|>", "user", "Ċ", "A", "Ġcat", ",", "Ġ", "1", "2", "Ġcaf\u00c3\u00a9", "Ġ",
                    "\u00e7\u012e\u00ab", "<|im_end|>"), t.encode(text));
            // added tokens are matched inside words, special or not
            assertArrayEquals(ids("a", "<|im_end|>", "<tool_call>", "a"), t.encode("a<|im_end|><tool_call>a"));
            assertArrayEquals(new long[0], t.encode(""));
            assertEquals(id("<|endoftext|>"), t.padId());
        }
    }

    @Test
    void theTemplatePrefixIsTheThirtyFourDroppedTokens() throws IOException {
        QwenPromptTemplate template = QwenPromptTemplate.TEXT_TO_IMAGE;
        try (Qwen2Tokenizer t = Qwen2Tokenizer.load(dir)) {
            assertEquals(34, TEMPLATE_PREFIX.size());
            assertEquals(TEMPLATE_PREFIX, List.of(t.tokens(template.prefix())));
            assertEquals(template.dropStart(), t.encode(template.prefix()).length);
            String[] filled = t.tokens(template.fill("a red circle"));
            assertEquals(TEMPLATE_PREFIX, List.of(filled).subList(0, 34));
            List<String> kept = new ArrayList<>(List.of("a", "Ġred", "Ġcircle"));
            kept.addAll(TEMPLATE_SUFFIX);
            assertEquals(kept, List.of(filled).subList(34, filled.length));
        }
    }

    /**
     * {@code " "} keeps 6 tokens. Special tokens split the template first, leaving the piece
     * {@code "user\n "}. Qwen2's regex tries {@code \s*[\r\n]+} before {@code \s+(?!\S)}, so the
     * newline is one pre-token and the trailing space another; BPE never sees them together, even
     * though this vocabulary has the token "\n " (ĊĠ) that GPT-2's regex (whose {@code \s+(?!\S)}
     * takes "\n " whole) would produce and the drop would then swallow. The space survives the
     * drop of 34 as the first kept token, followed by the 5-token suffix.
     */
    @Test
    void aSpaceNegativePromptKeepsSixTokens() throws IOException {
        assertTrue(vocab.has("ĊĠ"), "the vocabulary can join a newline and a space");
        try (Qwen2Tokenizer t = Qwen2Tokenizer.load(dir)) {
            assertEquals(List.of("user", "Ċ", "Ġ"), List.of(t.tokens("user\n ")));
            String[] filled = t.tokens(QwenPromptTemplate.TEXT_TO_IMAGE.fill(" "));
            List<String> kept = List.of(filled).subList(34, filled.length);
            assertEquals(List.of("Ġ", "<|im_end|>", "Ċ", "<|im_start|>", "assistant", "Ċ"), kept);
            QwenPromptBatch batch = QwenPromptBatch.of(t, QwenPromptTemplate.TEXT_TO_IMAGE, List.of(" "), 512);
            assertEquals(6, batch.keptLength(0));
        }
    }

    @Test
    void tokenizerJsonInTheRealLayoutGivesTheSameIdsAsVocabAndMerges() throws IOException {
        Path withJson = dir.resolve("with-json");
        Files.createDirectories(withJson);
        for (String f : List.of("vocab.json", "merges.txt", "tokenizer_config.json")) {
            Files.copy(dir.resolve(f), withJson.resolve(f));
        }
        Files.writeString(withJson.resolve("tokenizer.json"), realLayoutTokenizerJson());
        List<String> texts = List.of(QwenPromptTemplate.TEXT_TO_IMAGE.fill("A photo of a cat, 4K 1328x1328!"),
                "it's a DOG's life\n\n  two  spaces\ttab", "cafe\u0301 caf\u00e9 猫猫 超清，4K，电影级构图.",
                "<|vision_start|><|image_pad|><|vision_end|> <tool_call>{}</tool_call>", "\r\n \n", "a" + "!".repeat(9));
        try (Qwen2Tokenizer slow = Qwen2Tokenizer.load(dir); Qwen2Tokenizer fast = Qwen2Tokenizer.load(withJson)) {
            assertEquals(dir.resolve("merges.txt"), slow.origin());
            assertEquals(withJson.resolve("tokenizer.json"), fast.origin());
            for (String text : texts) {
                assertArrayEquals(slow.encode(text), fast.encode(text), text);
            }
            assertEquals(slow.padId(), fast.padId());
            assertEquals(slow.tokenId("<|im_start|>"), fast.tokenId("<|im_start|>"));
        }
    }

    /**
     * A tokenizer.json shaped as the one Qwen2.5-VL-7B-Instruct ships (written out here, not by the
     * code under test), around the tiny vocabulary and merges.
     */
    String realLayoutTokenizerJson() throws IOException {
        StringBuilder added = new StringBuilder();
        JsonNode decoder = new ObjectMapper().readTree(dir.resolve("tokenizer_config.json").toFile())
                .get("added_tokens_decoder");
        decoder.fields().forEachRemaining(e -> added.append(added.length() == 0 ? "" : ",").append("{\"id\":")
                .append(e.getKey()).append(",\"content\":\"").append(e.getValue().get("content").asText())
                .append("\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":")
                .append(e.getValue().get("special").asBoolean()).append('}'));
        ObjectMapper json = new ObjectMapper();
        List<String> merges = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("merges.txt"))) {
            if (!line.startsWith("#") && !line.isBlank()) {
                merges.add(line);
            }
        }
        return "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[" + added + "],"
                + "\"normalizer\":{\"type\":\"NFC\"},"
                + "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
                + "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*"
                + "|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},"
                + "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false}]},"
                + "\"post_processor\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false},"
                + "\"decoder\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false},"
                + "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"continuing_subword_prefix\":\"\","
                + "\"end_of_word_suffix\":\"\",\"fuse_unk\":false,\"byte_fallback\":false,\"ignore_merges\":false,"
                + "\"vocab\":" + vocab + ",\"merges\":" + json.writeValueAsString(merges) + "}}";
    }

    @Test
    void addedTokensComeFromAddedTokensJsonWhenTheConfigHasNone() throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"pad_token\": \"<|im_end|>\"}");
        try (Qwen2Tokenizer t = Qwen2Tokenizer.load(dir)) {
            assertArrayEquals(ids("<|im_start|>", "user", "<|im_end|>"), t.encode("<|im_start|>user<|im_end|>"));
            assertEquals(id("<|im_end|>"), t.padId());
        }
    }

    @Test
    void batchesArePaddedAndTruncatedAfterTheDrop() throws IOException {
        try (Qwen2Tokenizer t = Qwen2Tokenizer.load(dir); NDManager m = NDManager.newBaseManager()) {
            QwenPromptTemplate template = QwenPromptTemplate.TEXT_TO_IMAGE;
            QwenPromptBatch b = QwenPromptBatch.of(t, template, List.of("a cat", " ", "a red circle on a blue square"), 512);
            assertEquals(34 + 2 + 5, b.lengths()[0]);
            assertEquals(34 + 1 + 5, b.lengths()[1]);
            assertEquals(34 + 7 + 5, b.length());
            assertTrue(b.padded());
            long[] mask = b.maskArray(m).toLongArray();
            long[] ids = b.idsArray(m).toLongArray();
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < b.length(); j++) {
                    assertEquals(j < b.lengths()[i] ? 1 : 0, mask[i * b.length() + j]);
                    if (j >= b.lengths()[i]) {
                        assertEquals(id("<|endoftext|>"), ids[i * b.length() + j]);
                    }
                }
            }
            // max_sequence_length 4 keeps the first 4 tokens after the drop
            QwenPromptBatch cut = QwenPromptBatch.of(t, template, List.of("a red circle on a blue square"), 4);
            assertEquals(4, cut.keptLength(0));
            assertArrayEquals(ids("a", "Ġred", "Ġcircle", "Ġon"), Arrays.copyOfRange(cut.ids()[0], 34, 38));
            assertTrue(!QwenPromptBatch.of(t, template, List.of("a", "a"), 512).padded());
            assertThrows(IllegalArgumentException.class, () -> QwenPromptBatch.of(t, template, List.of("a"), 1025));
            assertThrows(IllegalArgumentException.class, () -> QwenPromptBatch.of(t, template, List.of("a"), 0));
        }
    }

    @Test
    void malformedFilesAreNamed() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0,");
        assertMessage(dir, "vocab.json");
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": \"zero\"}");
        assertMessage(dir, "vocab.json");
        TinyQwenTokenizer.write(dir);
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\nĠ t\nthree words here\n");
        assertMessage(dir, "merges.txt");
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\nĠ ~~\n");
        assertMessage(dir, "merges.txt");
        TinyQwenTokenizer.write(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"added_tokens_decoder\": {\"x\": {\"content\": \"<a>\"}}}");
        assertMessage(dir, "tokenizer_config.json");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"added_tokens_decoder\": {\"7\": {}}}");
        assertMessage(dir, "tokenizer_config.json");
        TinyQwenTokenizer.write(dir);
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": 3}}");
        assertMessage(dir, "tokenizer.json");
        Files.delete(dir.resolve("tokenizer.json"));
        Files.delete(dir.resolve("added_tokens.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{}");
        IOException none = assertThrows(IOException.class, () -> Qwen2Tokenizer.load(dir));
        assertTrue(none.getMessage().contains("no added tokens") && none.getMessage().contains("added_tokens.json"),
                none.getMessage());
        Files.delete(dir.resolve("merges.txt"));
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Qwen2Tokenizer.load(dir));
        assertTrue(e.getMessage().contains("merges.txt") && e.getMessage().contains("Qwen/Qwen-Image"), e.getMessage());
    }

    static void assertMessage(Path dir, String file) {
        IOException e = assertThrows(IOException.class, () -> Qwen2Tokenizer.load(dir).close());
        assertTrue(e.getMessage().contains(dir.resolve(file).toString()), e.getMessage());
    }
}
