package io.hicache.core.text;

import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.util.TextFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The pieces of GPT-2-style byte-level BPE that CLIP and Qwen2 share: the byte → printable-symbol
 * table, reading {@code merges.txt}, and building merges that make chosen words single tokens (for
 * the tiny vocabularies of tests and built-in models).
 */
public final class ByteLevelBpe {
    private ByteLevelBpe() {}

    /**
     * GPT-2's {@code bytes_to_unicode} table in its own order: the printable Latin-1 bytes map to
     * themselves first, then the other 68 bytes get code points 256, 257, ... in byte order. Entry i
     * of the result is the symbol of the i-th byte in that order (not of byte i: see {@link #symbol}).
     */
    public static List<String> byteSymbols() {
        List<Integer> printable = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            if (isPrintable(b)) {
                printable.add(b);
            }
        }
        List<String> out = new ArrayList<>();
        printable.forEach(b -> out.add(new String(Character.toChars(b))));
        int next = 256;
        for (int b = 0; b < 256; b++) {
            if (!isPrintable(b)) {
                out.add(new String(Character.toChars(next++)));
            }
        }
        return out;
    }

    /** The symbol of byte {@code b} (0 … 255) in GPT-2's table. */
    public static String symbol(int b) {
        if (isPrintable(b)) {
            return new String(Character.toChars(b));
        }
        int n = 0;
        for (int i = 0; i < b; i++) {
            if (!isPrintable(i)) {
                n++;
            }
        }
        return new String(Character.toChars(256 + n));
    }

    /** The byte symbols of {@code text}'s UTF-8 encoding, one per byte. */
    public static List<String> symbols(String text) {
        List<String> out = new ArrayList<>();
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            out.add(symbol(b & 0xFF));
        }
        return out;
    }

    private static boolean isPrintable(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    /**
     * The merges of a merges.txt in rank order, at most {@code limit}: the {@code #version} header
     * and blank lines skipped.
     */
    public static List<String> readMerges(Path file, int limit) throws IOException {
        List<String> merges = new ArrayList<>();
        for (String line : TextFiles.readUtf8(file).split("\r?\n", -1)) {
            if (line.isBlank() || line.startsWith("#version")) {
                continue;
            }
            if (merges.size() == limit) {
                break;
            }
            if (line.split(" ", -1).length != 2) {
                throw new InvalidModelException(file + ": a merge must be two tokens separated by one space: '" + line
                        + "'");
            }
            merges.add(line);
        }
        return merges;
    }

    /**
     * Appends to {@code merges} what makes each word (a sequence of initial symbols) one token: the
     * word is first split by the merges so far (BPE, lowest rank first), then its remaining pieces
     * are joined left to right by new merges. New merges rank after all earlier ones, so they never
     * change how an earlier word is split.
     */
    public static List<String> addWordMerges(List<String> merges, List<List<String>> words) {
        for (List<String> word : words) {
            List<String> symbols = bpe(word, merges);
            while (symbols.size() > 1) {
                merges.add(symbols.get(0) + " " + symbols.get(1));
                symbols.set(0, symbols.get(0) + symbols.remove(1));
            }
        }
        return merges;
    }

    /** BPE of one word: repeatedly merge the best-ranked adjacent pair. */
    public static List<String> bpe(List<String> word, List<String> merges) {
        List<String> symbols = new ArrayList<>(word);
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
}
