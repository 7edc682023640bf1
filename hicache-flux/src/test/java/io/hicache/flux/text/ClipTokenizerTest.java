package io.hicache.flux.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CLIP prompt ids worked out by hand from a vocabulary and merges this test writes. The vocabulary
 * puts byte b's symbol at id b and the symbol with the end-of-word marker at 256 + b (an order
 * unlike CLIP's, so nothing is mirrored from the code under test), then one id per merge, then the
 * start and end tokens.
 */
class ClipTokenizerTest {
    static final long BOS = 521;
    static final long EOS = 522;
    /** Merges in rank order; the merged token of merge r gets id 512 + r. */
    static final List<String> MERGES = List.of(
            "p h", // 512 ph
            "o t", // 513 ot
            "ph ot", // 514 phot
            "phot o</w>", // 515 photo</w>
            "o f</w>", // 516 of</w>
            "c a", // 517 ca
            "ca t</w>", // 518 cat</w>
            "\u00c3 \u00a9</w>", // 519 Ã©</w>: the UTF-8 bytes C3 A9 of é, as byte symbols
            "f \u00c3\u00a9</w>"); // 520 fÃ©</w>

    @TempDir
    Path dir;

    /** GPT-2's byte → symbol table: printable Latin-1 bytes are themselves, the others 256, 257, ... */
    static String symbol(int b) {
        boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) {
            return String.valueOf((char) b);
        }
        int n = 0;
        for (int i = 0; i < b; i++) {
            if (!((i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF))) {
                n++;
            }
        }
        return String.valueOf((char) (256 + n));
    }

    @BeforeEach
    void writeVocabulary() throws IOException {
        ObjectNode vocab = new ObjectMapper().createObjectNode();
        for (int b = 0; b < 256; b++) {
            vocab.put(symbol(b), b);
            vocab.put(symbol(b) + "</w>", 256 + b);
        }
        for (int r = 0; r < MERGES.size(); r++) {
            vocab.put(MERGES.get(r).replace(" ", ""), 512 + r);
        }
        vocab.put("<|startoftext|>", BOS);
        vocab.put("<|endoftext|>", EOS);
        Files.writeString(dir.resolve("vocab.json"), vocab.toString());
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n" + String.join("\n", MERGES) + "\n");
    }

    /** 77 ids: start, {@code content}, end, then the pad id. */
    static long[] padded(long pad, long... content) {
        long[] out = new long[77];
        Arrays.fill(out, pad);
        out[0] = BOS;
        System.arraycopy(content, 0, out, 1, content.length);
        out[content.length + 1] = EOS;
        return out;
    }

    @Test
    void promptsBecomeHandComputedIds() throws IOException {
        try (ClipTokenizer t = ClipTokenizer.load(dir)) {
            assertEquals(BOS, t.bosId());
            assertEquals(EOS, t.eosId());
            assertEquals(EOS, t.padId(), "no tokenizer config: pad with the end token");
            // lower-cased and split into a | photo | of | a | cat | . ;
            // "a" → a</w> = 256 + 97; "photo" → p h o t o</w> → (p h, rank 0) ph o t o</w> → (o t, 1)
            // ph ot o</w> → (ph ot, 2) phot o</w> → (3) photo</w> = 515; "of" → o f</w> → 516;
            // "cat" → c a t</w> → (5) ca t</w> → (6) cat</w> = 518; "." → .</w> = 256 + 46
            assertArrayEquals(padded(EOS, 353, 515, 516, 353, 518, 302), t.encode("A photo of a CAT."));
            // whitespace runs are collapsed and the ends dropped
            assertArrayEquals(padded(EOS, 353, 518), t.encode("  a\t\n cat  "));
            // contractions split off ("it" + "'s"): i t</w> = 105, 256 + 116; ' s</w> = 39, 256 + 115
            assertArrayEquals(padded(EOS, 105, 372, 39, 371), t.encode("it's"));
            // digits are single pre-tokens: 4</w> = 256 + 52, 2</w> = 256 + 50
            assertArrayEquals(padded(EOS, 308, 306), t.encode("42"));
            // a punctuation run stays together: ! !</w> = 33, 256 + 33
            assertArrayEquals(padded(EOS, 33, 289), t.encode("!!"));
            // the empty prompt is start + end
            assertArrayEquals(padded(EOS), t.encode(""));
        }
    }

    @Test
    void unicodeGoesThroughUtf8BytesAndNfc() throws IOException {
        try (ClipTokenizer t = ClipTokenizer.load(dir)) {
            // "Café" → "café" → bytes 63 61 66 C3 A9 → c a f Ã ©</w>; merges by rank: (c a, 5) → ca f Ã ©</w>;
            // (Ã ©</w>, 7) → ca f Ã©</w>; (f Ã©</w>, 8) → ca fÃ©</w> = 517, 520
            assertArrayEquals(padded(EOS, 517, 520), t.encode("Café"));
            // e + combining acute is composed by NFC first, so it is the same word
            assertArrayEquals(padded(EOS, 517, 520), t.encode("Cafe\u0301"));
            // 日 = E6 97 A5: three byte symbols, no merges; the test's ids are the byte values whether the
            // symbol is the byte itself (E6, A5) or a stand-in (0x97 → U+0139); the last gets </w> (+256)
            assertArrayEquals(padded(EOS, 0xE6, 0x97, 256 + 0xA5), t.encode("\u65e5"));
        }
    }

    @Test
    void longPromptsKeepStartAndEnd() throws IOException {
        try (ClipTokenizer t = ClipTokenizer.load(dir)) {
            long[] ids = t.encode("a ".repeat(100));
            long[] expected = new long[77];
            Arrays.fill(expected, 353);
            expected[0] = BOS;
            expected[76] = EOS;
            assertArrayEquals(expected, ids);
            assertEquals(100, t.contentIds("a ".repeat(100)).length);
        }
    }

    @Test
    void aTokenizerJsonBuiltFromVocabAndMergesGivesTheSameIds() throws IOException {
        Path withJson = dir.resolve("json");
        Files.createDirectories(withJson);
        String json = ClipTokenizer.tokenizerJson(new ObjectMapper().readTree(Files.readString(dir.resolve("vocab.json"))),
                ClipTokenizer.readMerges(dir.resolve("merges.txt")));
        Files.writeString(withJson.resolve("tokenizer.json"), json);
        try (ClipTokenizer a = ClipTokenizer.load(dir); ClipTokenizer b = ClipTokenizer.load(withJson)) {
            for (String p : List.of("A photo of a CAT.", "Café, it's 42!!", "\u65e5\u672c")) {
                assertArrayEquals(a.encode(p), b.encode(p), p);
            }
        }
    }

    @Test
    void thePadTokenComesFromTheTokenizerConfig() throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"pad_token\": {\"content\": \"!\"}}");
        try (ClipTokenizer t = ClipTokenizer.load(dir); NDManager m = NDManager.newBaseManager()) {
            assertEquals(33, t.padId());
            assertArrayEquals(padded(33, 518), t.encode("cat"));
            NDArray ids = t.encode(List.of("cat", "a cat"), m);
            assertArrayEquals(new long[] {2, 77}, ids.getShape().getShape());
            assertArrayEquals(padded(33, 353, 518), Arrays.copyOfRange(ids.toLongArray(), 77, 154));
        }
    }

    @Test
    void theTinyVocabularyHasClipsLayout() throws IOException {
        Path tiny = dir.resolve("tiny");
        TinyClip.writeTokenizer(tiny);
        try (ClipTokenizer t = ClipTokenizer.load(tiny)) {
            assertEquals(TinyClip.VOCAB_SIZE - 2, t.bosId());
            assertEquals(TinyClip.VOCAB_SIZE - 1, t.eosId());
            assertEquals(t.eosId(), t.padId());
            // in CLIP's byte order "!" is id 0 and "a" is 97 − 33 = 64; "!a" splits into two words,
            // each ending in </w> (+256), and "ab" is one word whose last symbol alone carries it
            assertArrayEquals(new long[] {256, 256 + 64}, t.contentIds("!a"));
            assertArrayEquals(new long[] {64, 256 + 65}, t.contentIds("ab"));
            // every word of the tiny list is one token
            for (String w : TinyClip.WORDS) {
                assertEquals(1, t.contentIds(w).length, w);
            }
            long[] ids = t.encode("An astronaut riding a horse, in a photo at night");
            assertTrue(Arrays.stream(ids).allMatch(id -> id >= 0 && id < TinyClip.VOCAB_SIZE));
        }
    }

    @Test
    void missingFilesAreNamed() throws IOException {
        Files.delete(dir.resolve("merges.txt"));
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("merges.txt"), e.getMessage());
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\np h x\n");
        IOException bad = assertThrows(IOException.class, () -> ClipTokenizer.load(dir));
        assertTrue(bad.getMessage().contains("p h x"), bad.getMessage());
    }
}
