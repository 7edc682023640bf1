package io.hicache.flux.text;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import io.hicache.flux.TinyWeights;
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
    static final List<String> MERGES = merges();
    static final Map<String, Integer> VOCAB = vocabulary();
    public static final int VOCAB_SIZE = VOCAB.size();

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
        Files.createDirectories(dir);
        ObjectNode vocab = HfTokenizers.JSON.createObjectNode();
        VOCAB.forEach(vocab::put);
        AtomicFiles.writeString(dir.resolve("vocab.json"), vocab.toString());
        StringBuilder merges = new StringBuilder("#version: 0.2\n");
        MERGES.forEach(m -> merges.append(m).append('\n'));
        AtomicFiles.writeString(dir.resolve("merges.txt"), merges.toString());
        String specials = "  \"bos_token\": \"<|startoftext|>\",\n  \"eos_token\": \"<|endoftext|>\",\n"
                + "  \"pad_token\": \"<|endoftext|>\",\n  \"unk_token\": \"<|endoftext|>\"";
        AtomicFiles.writeString(dir.resolve("special_tokens_map.json"), "{\n" + specials + "\n}\n");
        AtomicFiles.writeString(dir.resolve("tokenizer_config.json"), "{\n" + specials
                + ",\n  \"model_max_length\": 77,\n  \"do_lower_case\": true,\n  \"tokenizer_class\": \"CLIPTokenizer\"\n}\n");
    }

    /**
     * GPT-2's byte → printable-character table in CLIP's order: the printable Latin-1 bytes map to
     * themselves first, then the other 68 bytes get code points 256, 257, ... in byte order.
     */
    static List<String> byteSymbols() {
        List<Integer> printable = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            printable.add(b);
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            printable.add(b);
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            printable.add(b);
        }
        List<String> out = new ArrayList<>();
        printable.forEach(b -> out.add(new String(Character.toChars(b))));
        int next = 256;
        for (int b = 0; b < 256; b++) {
            if (!printable.contains(b)) {
                out.add(new String(Character.toChars(next++)));
            }
        }
        return out;
    }

    /**
     * Merges that make each word of {@link #WORDS} (plus {@code </w>}) a single token: the word is
     * first split by the merges so far (BPE, lowest rank first), then its remaining pieces are joined
     * left to right by new merges. New merges rank after all earlier ones, so they never change how
     * an earlier word is split.
     */
    private static List<String> merges() {
        List<String> merges = new ArrayList<>();
        for (String word : WORDS) {
            List<String> symbols = bpe(word, merges);
            while (symbols.size() > 1) {
                merges.add(symbols.get(0) + " " + symbols.get(1));
                symbols.set(0, symbols.get(0) + symbols.remove(1));
            }
        }
        return merges;
    }

    /** CLIP's BPE of one lower-case ASCII word: repeatedly merge the best-ranked adjacent pair. */
    private static List<String> bpe(String word, List<String> merges) {
        List<String> symbols = new ArrayList<>();
        for (char ch : word.toCharArray()) {
            symbols.add(String.valueOf(ch)); // ASCII letters are their own byte symbols
        }
        symbols.set(symbols.size() - 1, symbols.get(symbols.size() - 1) + "</w>");
        while (symbols.size() > 1) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                int rank = merges.indexOf(symbols.get(i) + " " + symbols.get(i + 1));
                if (rank >= 0 && rank < bestRank) {
                    best = i;
                    bestRank = rank;
                }
            }
            if (best < 0) {
                break;
            }
            symbols.set(best, symbols.get(best) + symbols.remove(best + 1));
        }
        return symbols;
    }

    private static Map<String, Integer> vocabulary() {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        List<String> bytes = byteSymbols();
        bytes.forEach(s -> vocab.put(s, vocab.size()));
        bytes.forEach(s -> vocab.put(s + "</w>", vocab.size()));
        for (String m : MERGES) {
            vocab.putIfAbsent(m.replace(" ", ""), vocab.size());
        }
        vocab.put(ClipTokenizer.BOS, vocab.size());
        vocab.put(ClipTokenizer.EOS, vocab.size());
        return vocab;
    }
}
