package io.hicache.flux.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.text.ByteLevelBpe;
import io.hicache.core.text.HfTokenizers;
import io.hicache.core.util.TextFiles;
import io.hicache.flux.ModelFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * CLIP's byte-level BPE prompt tokenizer: {@code <|startoftext|>}, content ids, {@code <|endoftext|>},
 * truncated to 77 ids keeping both, padded with the pad token ({@code <|endoftext|>} for FLUX).
 *
 * <p>FLUX ships only {@code vocab.json} + {@code merges.txt}. Without a {@code tokenizer.json} the
 * equivalent document is assembled in memory the way transformers' {@code CLIPConverter} builds the
 * fast tokenizer; it matches the slow tokenizer on ordinary prompts and differs only on adjacent CJK
 * characters and control characters (see docs/models.md §4.4).
 */
public final class ClipTokenizer implements AutoCloseable {
    public static final int MAX_LENGTH = 77;
    static final String BOS = "<|startoftext|>";
    static final String EOS = "<|endoftext|>";
    /** transformers' CLIPTokenizer reads at most this many merges (49152 ids less bytes and specials). */
    static final int MAX_MERGES = 49152 - 256 - 2;
    /** CLIPConverter's pre-tokenizer: contractions, letter runs, single digits, punctuation runs. */
    static final String SPLIT_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

    private final HuggingFaceTokenizer tokenizer;
    private final int maxLength;
    private final long bosId;
    private final long eosId;
    private final long padId;

    private ClipTokenizer(HuggingFaceTokenizer tokenizer, int maxLength, long bosId, long eosId, long padId) {
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.bosId = bosId;
        this.eosId = eosId;
        this.padId = padId;
    }

    public static ClipTokenizer load(Path dir) throws IOException {
        return load(dir, MAX_LENGTH);
    }

    /**
     * Loads {@code dir/tokenizer.json}, or else builds it from {@code vocab.json} and
     * {@code merges.txt}. The pad token comes from {@code tokenizer_config.json} or
     * {@code special_tokens_map.json} when present, else it is {@code <|endoftext|>}.
     */
    public static ClipTokenizer load(Path dir, int maxLength) throws IOException {
        if (maxLength < 2) {
            throw new IllegalArgumentException("max length must leave room for the start and end tokens, got " + maxLength);
        }
        Path file = dir.resolve("tokenizer.json");
        String json;
        if (Files.isRegularFile(file)) {
            json = TextFiles.readUtf8(file);
        } else {
            Path vocab = ModelFiles.require(dir, "vocab.json");
            Path merges = ModelFiles.require(dir, "merges.txt");
            file = vocab;
            List<String> mergeList = readMerges(merges);
            try {
                json = tokenizerJson(HfTokenizers.parse(TextFiles.readUtf8(vocab), vocab), mergeList);
            } catch (InvalidModelException e) {
                throw e.getMessage().startsWith(vocab.toString()) ? e : new InvalidModelException(vocab + ": " + e.getMessage(), e);
            }
        }
        JsonNode root = HfTokenizers.parse(json, file);
        long bos = HfTokenizers.tokenId(root, BOS, file);
        long eos = HfTokenizers.tokenId(root, EOS, file);
        long pad = HfTokenizers.tokenId(root, padToken(dir), file);
        return new ClipTokenizer(HfTokenizers.contentOnly(json, file), maxLength, bos, eos, pad);
    }

    /** The merges of merges.txt in rank order, as many as CLIP reads. */
    static List<String> readMerges(Path file) throws IOException {
        return ByteLevelBpe.readMerges(file, MAX_MERGES);
    }

    private static String padToken(Path dir) throws IOException {
        for (String name : List.of("tokenizer_config.json", "special_tokens_map.json")) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) {
                JsonNode pad = HfTokenizers.parse(TextFiles.readUtf8(p), p).get("pad_token");
                if (pad != null && pad.isTextual()) {
                    return pad.asText();
                }
                if (pad != null && pad.has("content")) {
                    return pad.get("content").asText();
                }
            }
        }
        return EOS;
    }

    /**
     * The tokenizer.json transformers' CLIPConverter produces from a vocabulary and merges: NFC,
     * whitespace runs collapsed to one space, lower case; CLIP's regex split then byte-level mapping;
     * BPE with the {@code </w>} end-of-word suffix and {@code <|endoftext|>} as unknown token; a
     * post-processor wrapping the ids in start/end tokens.
     */
    public static String tokenizerJson(JsonNode vocab, List<String> merges) throws IOException {
        if (!vocab.isObject() || !vocab.has(BOS) || !vocab.has(EOS)) {
            throw new InvalidModelException("vocab.json must map tokens to ids and hold " + BOS + " and " + EOS);
        }
        ObjectNode root = HfTokenizers.JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String special : List.of(BOS, EOS)) {
            added.addObject().put("id", vocab.get(special).asLong()).put("content", special)
                    .put("single_word", false).put("lstrip", false).put("rstrip", false)
                    .put("normalized", true).put("special", true);
        }
        ArrayNode normalizers = root.putObject("normalizer").put("type", "Sequence").putArray("normalizers");
        normalizers.addObject().put("type", "NFC");
        ObjectNode collapse = normalizers.addObject().put("type", "Replace");
        collapse.putObject("pattern").put("Regex", "\\s+");
        collapse.put("content", " ");
        normalizers.addObject().put("type", "Lowercase");
        ArrayNode pre = root.putObject("pre_tokenizer").put("type", "Sequence").putArray("pretokenizers");
        ObjectNode split = pre.addObject().put("type", "Split");
        split.putObject("pattern").put("Regex", SPLIT_PATTERN);
        split.put("behavior", "Removed").put("invert", true);
        pre.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode post = root.putObject("post_processor").put("type", "RobertaProcessing");
        post.putArray("sep").add(EOS).add(vocab.get(EOS).asLong());
        post.putArray("cls").add(BOS).add(vocab.get(BOS).asLong());
        post.put("trim_offsets", false).put("add_prefix_space", false);
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode model = root.putObject("model").put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", EOS).put("continuing_subword_prefix", "").put("end_of_word_suffix", "</w>")
                .put("fuse_unk", false).put("byte_fallback", false);
        model.set("vocab", vocab);
        ArrayNode m = model.putArray("merges");
        merges.forEach(m::add);
        return root.toString();
    }

    public int maxLength() {
        return maxLength;
    }

    public long bosId() {
        return bosId;
    }

    public long eosId() {
        return eosId;
    }

    public long padId() {
        return padId;
    }

    /** The content ids of {@code text}, without start/end tokens, untruncated. */
    public long[] contentIds(String text) {
        return tokenizer.encode(text).getIds();
    }

    /** {@code maxLength} ids: start, content (truncated to maxLength − 2), end, then padding. */
    public long[] encode(String prompt) {
        long[] content = contentIds(prompt);
        long[] ids = new long[maxLength];
        Arrays.fill(ids, padId);
        int n = Math.min(content.length, maxLength - 2);
        ids[0] = bosId;
        System.arraycopy(content, 0, ids, 1, n);
        ids[n + 1] = eosId;
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
