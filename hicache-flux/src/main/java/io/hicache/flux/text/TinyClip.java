package io.hicache.flux.text;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.text.ByteLevelBpe;
import io.hicache.core.text.HfTokenizers;
import io.hicache.core.util.AtomicFiles;
import io.hicache.core.weights.TinyWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a tiny CLIP text tower ({@code text_encoder/}) and a matching byte-level BPE vocabulary
 * ({@code tokenizer/vocab.json} + {@code merges.txt}, no tokenizer.json, as FLUX ships it). The
 * vocabulary is built like CLIP's: the 256 byte symbols, the same with {@code </w>}, one token per
 * merge, then {@code <|startoftext|>} and {@code <|endoftext|>} as the two largest ids.
 */
public final class TinyClip {
    static final List<String> WORDS = List.of("a", "photo", "of", "the", "cat", "dog", "on", "in", "with",
            "and", "red", "blue", "car", "city", "night", "astronaut", "riding", "horse", "mountain",
            "portrait", "painting", "forest", "sunset");
    public static final int VOCAB_SIZE = vocabularySize(WORDS);

    private TinyClip() {}

    /** {@link ClipTextConfig#tiny()} weights in {@code dir/model.safetensors}. */
    public static void write(Path dir, long seed, TensorType dtype) throws IOException {
        write(dir, ClipTextConfig.tiny(), seed, dtype);
    }

    /**
     * config.json and weights initialised as transformers' CLIP does (embeddings N(0, 0.02),
     * projections N(0, 1/√d) scaled down with depth); norm weights near one, biases small.
     */
    public static void write(Path dir, ClipTextConfig c, long seed, TensorType dtype) throws IOException {
        Files.createDirectories(dir);
        AtomicFiles.writeString(dir.resolve("config.json"), c.toJson());
        double inProj = Math.pow(c.hiddenSize, -0.5) * Math.pow(2.0 * c.numLayers, -0.5);
        ParameterSpec spec = new ParameterSpec().nest(ClipTextEncoder.PREFIX, ClipTextEncoder.spec(c));
        TinyWeights w = new TinyWeights(seed).fill(spec, name -> {
            if (name.contains("embedding")) {
                return 0.02;
            }
            if (name.endsWith("out_proj.weight")) {
                return Math.pow(c.hiddenSize, -0.5);
            }
            if (name.endsWith("fc1.weight")) {
                return Math.pow(2.0 * c.hiddenSize, -0.5);
            }
            return inProj; // q, k, v, fc2
        });
        w.write(dir.resolve("model.safetensors"), dtype);
    }

    /** vocab.json, merges.txt and the tokenizer configs of {@code tokenizer/}. */
    public static void writeTokenizer(Path dir) throws IOException {
        writeTokenizer(dir, WORDS);
    }

    /** As {@link #writeTokenizer(Path)} with a merge per word of {@code words}, so each is one token. */
    public static void writeTokenizer(Path dir, List<String> words) throws IOException {
        Files.createDirectories(dir);
        List<String> merges = merges(words);
        ObjectNode vocab = HfTokenizers.JSON.createObjectNode();
        vocabulary(merges).forEach(vocab::put);
        AtomicFiles.writeString(dir.resolve("vocab.json"), vocab.toString());
        StringBuilder mergeLines = new StringBuilder("#version: 0.2\n");
        merges.forEach(m -> mergeLines.append(m).append('\n'));
        AtomicFiles.writeString(dir.resolve("merges.txt"), mergeLines.toString());
        String specials = "  \"bos_token\": \"<|startoftext|>\",\n  \"eos_token\": \"<|endoftext|>\",\n"
                + "  \"pad_token\": \"<|endoftext|>\",\n  \"unk_token\": \"<|endoftext|>\"";
        AtomicFiles.writeString(dir.resolve("special_tokens_map.json"), "{\n" + specials + "\n}\n");
        AtomicFiles.writeString(dir.resolve("tokenizer_config.json"), "{\n" + specials
                + ",\n  \"model_max_length\": 77,\n  \"do_lower_case\": true,\n  \"tokenizer_class\": \"CLIPTokenizer\"\n}\n");
    }

    /**
     * Merges that make each word (plus {@code </w>}) a single token (ASCII letters
     * are their own byte symbols).
     */
    /** The vocabulary size of a tokenizer written for {@code words}: a CLIP config's vocab_size. */
    public static int vocabularySize(List<String> words) {
        return vocabulary(merges(words)).size();
    }

    private static List<String> merges(List<String> wordList) {
        List<List<String>> words = new ArrayList<>();
        for (String word : wordList) {
            List<String> symbols = new ArrayList<>();
            for (char ch : word.toCharArray()) {
                symbols.add(String.valueOf(ch));
            }
            symbols.set(symbols.size() - 1, symbols.get(symbols.size() - 1) + "</w>");
            words.add(symbols);
        }
        return ByteLevelBpe.addWordMerges(new ArrayList<>(), words);
    }

    private static Map<String, Integer> vocabulary(List<String> merges) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        List<String> bytes = ByteLevelBpe.byteSymbols();
        bytes.forEach(s -> vocab.put(s, vocab.size()));
        bytes.forEach(s -> vocab.put(s + "</w>", vocab.size()));
        for (String m : merges) {
            vocab.putIfAbsent(m.replace(" ", ""), vocab.size());
        }
        vocab.put(ClipTokenizer.BOS, vocab.size());
        vocab.put(ClipTokenizer.EOS, vocab.size());
        return vocab;
    }
}
