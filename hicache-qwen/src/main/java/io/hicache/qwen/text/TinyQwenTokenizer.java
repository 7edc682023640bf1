package io.hicache.qwen.text;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.text.ByteLevelBpe;
import io.hicache.core.text.HfTokenizers;
import io.hicache.core.util.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a tiny Qwen2 tokenizer in the files of the real {@code tokenizer/} folder: vocab.json,
 * merges.txt, tokenizer_config.json (with {@code added_tokens_decoder}), added_tokens.json and
 * special_tokens_map.json; no tokenizer.json. Like Qwen2's, the vocabulary starts with the 256 byte
 * symbols in GPT-2's order, then one token per merge, and the added tokens follow it in the real
 * order. Every word (and punctuation run the pre-tokenizer keeps whole, such as {@code " ("} and
 * {@code "),"}) of the T2I and Edit templates is one token, as it is in the real vocabulary, so the
 * templates drop 34 and 64 tokens here too.
 */
public final class TinyQwenTokenizer {
    /** Words (with a leading space where they follow one) that become single tokens. */
    static final List<String> WORDS = List.of(
            // the T2I template
            "system", "user", "assistant", "Describe", " the", " image", " by", " detailing", " color", " shape",
            " size", " texture", " quantity", " text", " spatial", " relationships", " of", " objects", " and",
            " background",
            // what the Edit template adds
            " key", " features", " input", " (", "color", "),", " then", " explain", " how", " user", "'s",
            " instruction", " should", " alter", " or", " modify", " Generate", " new", " that", " meets",
            " requirements", " while", " maintaining", " consistency", " with", " original", " where", " appropriate",
            // joinable in the vocabulary, as in the real one, but kept apart by the pre-tokenizer
            "\n ", "\n\n",
            // the Shapes prompts and a few common ones
            "a", " a", " circle", " square", " triangle", " star", " small", " large", " red", " orange", " yellow",
            " green", " blue", " purple", " white", " black", " on", " in", " at", " top", " bottom", " left",
            " right", " center", " corner", " cat", " dog", " photo", "A", " café", "猫");
    /** Qwen2.5-VL's added tokens from id 151643 on, in order; the two tool-call tags are not special. */
    static final List<String> ADDED = List.of(Qwen2Tokenizer.END_OF_TEXT, Qwen2Tokenizer.IM_START,
            Qwen2Tokenizer.IM_END, "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>",
            "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
            "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>");
    static final List<String> MERGES = merges();
    static final Map<String, Integer> VOCAB = vocabulary();
    /** Vocabulary plus added tokens: the model's vocab_size must be at least this. */
    public static final int SIZE = VOCAB.size() + ADDED.size();

    private TinyQwenTokenizer() {}

    private static List<String> merges() {
        List<List<String>> words = new ArrayList<>();
        WORDS.forEach(w -> words.add(ByteLevelBpe.symbols(w)));
        return ByteLevelBpe.addWordMerges(new ArrayList<>(), words);
    }

    private static Map<String, Integer> vocabulary() {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        ByteLevelBpe.byteSymbols().forEach(s -> vocab.put(s, vocab.size()));
        for (String m : MERGES) {
            vocab.putIfAbsent(m.replace(" ", ""), vocab.size());
        }
        return vocab;
    }

    /** The id of added token {@code i} of {@link #ADDED}. */
    static long addedId(int i) {
        return VOCAB.size() + i;
    }

    /** Writes the tokenizer files into {@code dir}. */
    public static void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        ObjectNode vocab = HfTokenizers.JSON.createObjectNode();
        VOCAB.forEach(vocab::put);
        AtomicFiles.writeString(dir.resolve("vocab.json"), vocab.toString());
        StringBuilder merges = new StringBuilder("#version: 0.2\n");
        MERGES.forEach(m -> merges.append(m).append('\n'));
        AtomicFiles.writeString(dir.resolve("merges.txt"), merges.toString());
        ObjectNode config = HfTokenizers.JSON.createObjectNode();
        config.put("add_prefix_space", false);
        ObjectNode decoder = config.putObject("added_tokens_decoder");
        ObjectNode addedJson = HfTokenizers.JSON.createObjectNode();
        for (int i = 0; i < ADDED.size(); i++) {
            String t = ADDED.get(i);
            decoder.putObject(Long.toString(addedId(i))).put("content", t).put("lstrip", false).put("normalized", false)
                    .put("rstrip", false).put("single_word", false).put("special", !t.contains("tool_call"));
            addedJson.put(t, addedId(i));
        }
        config.putNull("bos_token");
        config.put("clean_up_tokenization_spaces", false);
        config.put("eos_token", Qwen2Tokenizer.IM_END);
        config.put("errors", "replace");
        config.put("model_max_length", 131072);
        config.put("pad_token", Qwen2Tokenizer.END_OF_TEXT);
        config.put("split_special_tokens", false);
        config.put("tokenizer_class", "Qwen2Tokenizer");
        config.putNull("unk_token");
        AtomicFiles.writeString(dir.resolve("tokenizer_config.json"), config.toPrettyString());
        AtomicFiles.writeString(dir.resolve("added_tokens.json"), addedJson.toPrettyString());
        ObjectNode map = HfTokenizers.JSON.createObjectNode();
        map.put("eos_token", Qwen2Tokenizer.IM_END).put("pad_token", Qwen2Tokenizer.END_OF_TEXT);
        AtomicFiles.writeString(dir.resolve("special_tokens_map.json"), map.toPrettyString());
    }
}
