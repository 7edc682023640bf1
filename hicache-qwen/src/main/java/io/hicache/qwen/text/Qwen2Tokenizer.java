package io.hicache.qwen.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.text.ByteLevelBpe;
import io.hicache.core.text.HfTokenizers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Qwen2 tokenizer of Qwen2.5-VL ({@code Qwen2Tokenizer} / {@code Qwen2TokenizerFast}): added
 * tokens ({@code <|im_start|>}, {@code <|im_end|>}, {@code <|endoftext|>}, ...) matched in the raw
 * text first, NFC normalisation, the Qwen2 pre-tokenizer regex (single digits, letter runs with one
 * leading non-letter, newlines kept apart from the words around them), GPT-2 byte-level symbols and
 * BPE without an unknown token. It returns content ids only: no BOS, nothing appended.
 *
 * <p>{@code tokenizer/tokenizer.json} is used when present. Otherwise the same document is assembled
 * in memory from {@code vocab.json}, {@code merges.txt} and the added tokens of
 * {@code tokenizer_config.json} ({@code added_tokens_decoder}) or {@code added_tokens.json}, the way
 * transformers' {@code Qwen2Converter} builds the fast tokenizer from the slow one's files.
 */
public final class Qwen2Tokenizer implements AutoCloseable {
    /** transformers' Qwen2 pre-tokenizer split (digits one by one, unlike GPT-4's 1-3). */
    public static final String PRE_TOKENIZER_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
            + "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    public static final String END_OF_TEXT = "<|endoftext|>";
    public static final String IM_START = "<|im_start|>";
    public static final String IM_END = "<|im_end|>";

    /** A token matched in the raw text before normalisation and BPE, with transformers' flags. */
    public record AddedToken(long id, String content, boolean special, boolean lstrip, boolean rstrip,
            boolean normalized, boolean singleWord) {}

    private final HuggingFaceTokenizer tokenizer;
    private final JsonNode document;
    private final Path origin;
    private final long padId;

    private Qwen2Tokenizer(HuggingFaceTokenizer tokenizer, JsonNode document, Path origin, long padId) {
        this.tokenizer = tokenizer;
        this.document = document;
        this.origin = origin;
        this.padId = padId;
    }

    /**
     * Loads {@code dir/tokenizer.json}, or else builds it from {@code vocab.json},
     * {@code merges.txt} and the added tokens. The pad token is {@code pad_token} of
     * {@code tokenizer_config.json} when given, else {@code <|endoftext|>} (as in Qwen2.5-VL).
     */
    public static Qwen2Tokenizer load(Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        String json;
        if (Files.isRegularFile(file)) {
            json = Files.readString(file);
        } else {
            Path vocabFile = require(dir, "vocab.json");
            Path mergesFile = require(dir, "merges.txt");
            JsonNode vocab = HfTokenizers.parse(Files.readString(vocabFile), vocabFile);
            checkVocabulary(vocab, vocabFile);
            List<String> merges = ByteLevelBpe.readMerges(mergesFile, Integer.MAX_VALUE);
            checkMerges(vocab, merges, mergesFile);
            List<AddedToken> added = readAddedTokens(dir);
            if (added.isEmpty()) {
                throw new IOException(dir + ": no added tokens (" + IM_START + ", " + IM_END + ", " + END_OF_TEXT
                        + ", ...): tokenizer_config.json has no added_tokens_decoder and there is no added_tokens.json");
            }
            file = mergesFile;
            json = tokenizerJson(vocab, merges, added);
        }
        JsonNode root = HfTokenizers.parse(json, file);
        if (!root.isObject() || !root.path("model").isObject()) {
            throw new IOException(file + ": expected a tokenizer document with a 'model' object");
        }
        long pad = HfTokenizers.tokenId(root, padToken(dir), file);
        return new Qwen2Tokenizer(HfTokenizers.contentOnly(json, file), root, file, pad);
    }

    private static Path require(Path dir, String name) throws IOException {
        Path p = dir.resolve(name);
        if (!Files.isRegularFile(p)) {
            throw new NoSuchFileException(p.toString(), null, "missing " + name + ": the tokenizer folder needs"
                    + " tokenizer.json, or vocab.json + merges.txt (+ tokenizer_config.json) as in the Hugging Face"
                    + " repository Qwen/Qwen-Image (folder tokenizer/)");
        }
        return p;
    }

    private static void checkVocabulary(JsonNode vocab, Path file) throws IOException {
        if (!vocab.isObject() || vocab.isEmpty()) {
            throw new IOException(file + ": expected a JSON object mapping tokens to ids");
        }
        Set<Long> ids = new HashSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode id = e.getValue();
            if (!id.isIntegralNumber() || id.asLong() < 0) {
                throw new IOException(file + ": the id of token '" + e.getKey() + "' must be a non-negative integer, got " + id);
            }
            if (!ids.add(id.asLong())) {
                throw new IOException(file + ": id " + id + " is given to more than one token (again to '" + e.getKey() + "')");
            }
        }
    }

    /** Every merge must join two tokens of the vocabulary into a third one, as the BPE model requires. */
    private static void checkMerges(JsonNode vocab, List<String> merges, Path file) throws IOException {
        for (int r = 0; r < merges.size(); r++) {
            String[] pair = merges.get(r).split(" ", -1);
            for (String t : new String[] {pair[0], pair[1], pair[0] + pair[1]}) {
                if (!vocab.has(t)) {
                    throw new IOException(file + ": merge " + (r + 1) + " '" + merges.get(r) + "' needs the token '" + t
                            + "', which vocab.json lacks");
                }
            }
        }
    }

    /**
     * The added tokens in id order: {@code added_tokens_decoder} of tokenizer_config.json, else
     * added_tokens.json ({@code {content: id}}, treated as special), else none.
     */
    static List<AddedToken> readAddedTokens(Path dir) throws IOException {
        List<AddedToken> out = new ArrayList<>();
        Path config = dir.resolve("tokenizer_config.json");
        JsonNode decoder = null;
        if (Files.isRegularFile(config)) {
            JsonNode root = HfTokenizers.parse(Files.readString(config), config);
            decoder = root.get("added_tokens_decoder");
            if (decoder != null && !decoder.isObject()) {
                throw new IOException(config + ": 'added_tokens_decoder' must map ids to token objects, got " + decoder);
            }
        }
        if (decoder != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = decoder.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                long id;
                try {
                    id = Long.parseLong(e.getKey());
                } catch (NumberFormatException ex) {
                    throw new IOException(config + ": added_tokens_decoder key '" + e.getKey() + "' is not a token id");
                }
                JsonNode t = e.getValue();
                if (!t.path("content").isTextual() || t.path("content").asText().isEmpty()) {
                    throw new IOException(config + ": added token " + id + " has no 'content' string");
                }
                out.add(new AddedToken(id, t.get("content").asText(), t.path("special").asBoolean(false),
                        t.path("lstrip").asBoolean(false), t.path("rstrip").asBoolean(false),
                        t.path("normalized").asBoolean(false), t.path("single_word").asBoolean(false)));
            }
        } else {
            Path added = dir.resolve("added_tokens.json");
            if (Files.isRegularFile(added)) {
                JsonNode root = HfTokenizers.parse(Files.readString(added), added);
                if (!root.isObject()) {
                    throw new IOException(added + ": expected a JSON object mapping tokens to ids");
                }
                for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext();) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (!e.getValue().isIntegralNumber()) {
                        throw new IOException(added + ": the id of '" + e.getKey() + "' must be an integer, got " + e.getValue());
                    }
                    out.add(new AddedToken(e.getValue().asLong(), e.getKey(), true, false, false, false, false));
                }
            }
        }
        out.sort(Comparator.comparingLong(AddedToken::id));
        return out;
    }

    private static String padToken(Path dir) throws IOException {
        Path p = dir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(p)) {
            JsonNode pad = HfTokenizers.parse(Files.readString(p), p).get("pad_token");
            if (pad != null && pad.isTextual()) {
                return pad.asText();
            }
            if (pad != null && pad.path("content").isTextual()) {
                return pad.get("content").asText();
            }
        }
        return END_OF_TEXT;
    }

    /**
     * The tokenizer.json transformers' {@code Qwen2Converter} produces: BPE without unknown token or
     * suffixes, NFC, the Qwen2 regex split ("isolated") then byte-level mapping without prefix space
     * or its own regex, byte-level decoder and post-processor, and the added tokens.
     */
    public static String tokenizerJson(JsonNode vocab, List<String> merges, List<AddedToken> added) {
        ObjectNode root = HfTokenizers.JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode tokens = root.putArray("added_tokens");
        for (AddedToken t : added) {
            tokens.addObject().put("id", t.id()).put("content", t.content()).put("single_word", t.singleWord())
                    .put("lstrip", t.lstrip()).put("rstrip", t.rstrip()).put("normalized", t.normalized())
                    .put("special", t.special());
        }
        root.putObject("normalizer").put("type", "NFC");
        ArrayNode pre = root.putObject("pre_tokenizer").put("type", "Sequence").putArray("pretokenizers");
        ObjectNode split = pre.addObject().put("type", "Split");
        split.putObject("pattern").put("Regex", PRE_TOKENIZER_PATTERN);
        split.put("behavior", "Isolated").put("invert", false);
        pre.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true)
                .put("use_regex", false);
        root.putObject("post_processor").put("type", "ByteLevel").put("add_prefix_space", true)
                .put("trim_offsets", false).put("use_regex", true);
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode model = root.putObject("model").put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "").put("end_of_word_suffix", "").put("fuse_unk", false)
                .put("byte_fallback", false).put("ignore_merges", false);
        model.set("vocab", vocab);
        ArrayNode m = model.putArray("merges");
        merges.forEach(m::add);
        return root.toString();
    }

    /** The content ids of {@code text}: added tokens matched first, nothing added, untruncated. */
    public long[] encode(String text) {
        return tokenizer.encode(text).getIds();
    }

    /** The tokens (byte-level symbols, added tokens as written) of {@code text}. */
    public String[] tokens(String text) {
        return tokenizer.encode(text).getTokens();
    }

    /** The id of {@code token} (an added token or a vocabulary entry). */
    public long tokenId(String token) throws IOException {
        return HfTokenizers.tokenId(document, token, origin);
    }

    /** The id batches are padded with. */
    public long padId() {
        return padId;
    }

    /** The file the tokenizer was built from (tokenizer.json, or merges.txt for vocab + merges). */
    public Path origin() {
        return origin;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
