package io.hicache.flux.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * T5 prompt ids worked out by hand from a unigram tokenizer.json this test writes. Unigram picks
 * the segmentation with the highest total score (sum of log-probabilities), so the scores below
 * decide every case.
 */
class T5TokenizerTest {
    @TempDir
    Path dir;

    /**
     * id: piece (score). T5's specials first; "▁" marks a word start (the pre-tokenizer splits on
     * whitespace and puts ▁ before every word); no lower-casing (T5 is case-sensitive).
     */
    static final String TOKENIZER = """
            {"version": "1.0", "truncation": null, "padding": null,
             "added_tokens": [
               {"id": 0, "content": "<pad>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
               {"id": 1, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
               {"id": 2, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
             "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"},
               {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
             "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"},
               {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true}]},
             "post_processor": null, "decoder": null,
             "model": {"type": "Unigram", "unk_id": 2, "byte_fallback": false, "vocab": [
               ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0],
               ["\u2581", -2.0], ["\u2581a", -3.0], ["\u2581cat", -4.0], ["\u2581photo", -4.0], ["\u2581of", -3.5],
               ["c", -6.0], ["a", -6.0], ["t", -6.0], ["s", -6.0], [".", -5.0], [",", -5.0], ["\u2581ca", -5.0],
               ["!", -5.0], ["\u00e9", -6.0], ["f", -6.0]]}}
            """;

    T5Tokenizer load(int maxLength) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), TOKENIZER);
        return T5Tokenizer.load(dir, maxLength);
    }

    /** {@code maxLength} ids: {@code content}, then </s> (1), then <pad> (0). */
    static long[] padded(int maxLength, long... content) {
        long[] out = new long[maxLength];
        System.arraycopy(content, 0, out, 0, content.length);
        out[content.length] = 1;
        return out;
    }

    @Test
    void specialIdsComeFromTheTokenizerFile() throws IOException {
        try (T5Tokenizer t = load(16)) {
            assertEquals(1, t.eosId());
            assertEquals(0, t.padId());
            assertEquals(16, t.maxLength());
        }
    }

    @Test
    void promptsBecomeHandComputedIds() throws IOException {
        try (T5Tokenizer t = load(12)) {
            // every word is a whole piece: ▁a ▁photo ▁of ▁a ▁cat
            assertArrayEquals(padded(12, 4, 6, 7, 4, 5), t.encode("a photo of a cat"));
            // "▁cats": ▁cat+s = −4−6 = −10 beats ▁ca+t+s = −17 and ▁+c+a+t+s = −26
            assertArrayEquals(padded(12, 5, 11), t.encode("cats"));
            // "A" is unknown (no lower-casing): ▁ then <unk>; "▁cat." = ▁cat + . (−9)
            assertArrayEquals(padded(12, 3, 2, 5, 12), t.encode("A cat."));
            // runs of spaces, tabs and newlines only separate words
            assertArrayEquals(padded(12, 4, 5), t.encode("  a   cat\t\n"));
            // the empty prompt is just </s>
            assertArrayEquals(padded(12), t.encode(""));
        }
    }

    @Test
    void unicodeIsNormalizedAndUnknownRunsFuse() throws IOException {
        try (T5Tokenizer t = load(12)) {
            // NFKC composes e + U+0301 into é; "▁café" = ▁ca + f + é (−17) beats ▁ + c + a + f + é (−26)
            assertArrayEquals(padded(12, 14, 17, 16), t.encode("cafe\u0301"));
            assertArrayEquals(padded(12, 14, 17, 16), t.encode("caf\u00e9"));
            // neither CJK character is a piece: ▁, then one <unk> for the fused unknown run, then ▁cat
            assertArrayEquals(padded(12, 3, 2, 5), t.encode("\u65e5\u672c cat"));
            // NFKC maps the full-width Ａ to A (unknown) and the full-width ！ to ! (15)
            assertArrayEquals(padded(12, 3, 2, 15), t.encode("\uff21\uff01"));
        }
    }

    @Test
    void longPromptsAreTruncatedKeepingTheEnd() throws IOException {
        try (T5Tokenizer t = load(8)) {
            // content ▁a ▁photo ▁of ▁a ▁cat ▁a ▁photo ▁of (8 ids) keeps its first 7, then </s>: no padding left
            assertArrayEquals(new long[] {4, 6, 7, 4, 5, 4, 6, 1}, t.encode("a photo of a cat a photo of"));
            assertArrayEquals(new long[] {4, 6, 7, 4, 5, 4, 6, 7}, t.contentIds("a photo of a cat a photo of"));
        }
        try (T5Tokenizer t = load(T5Tokenizer.DEV_MAX_LENGTH)) {
            long[] ids = t.encode("a ".repeat(600));
            long[] expected = new long[512];
            Arrays.fill(expected, 4);
            expected[511] = 1;
            assertArrayEquals(expected, ids);
        }
    }

    @Test
    void batchesBecomeOneInt64Tensor() throws IOException {
        try (T5Tokenizer t = load(6); NDManager m = NDManager.newBaseManager()) {
            NDArray ids = t.encode(List.of("a cat", "photo of"), m);
            assertArrayEquals(new long[] {2, 6}, ids.getShape().getShape());
            assertArrayEquals(new long[] {4, 5, 1, 0, 0, 0, 6, 7, 1, 0, 0, 0}, ids.toLongArray());
        }
    }

    @Test
    void theTinyTokenizerMatchesTheTinyModel() throws IOException {
        TinyT5.writeTokenizer(dir);
        try (T5Tokenizer t = T5Tokenizer.load(dir, T5Tokenizer.SCHNELL_MAX_LENGTH)) {
            long[] ids = t.encode("A photo of an astronaut riding a horse on the mountain, at sunset!");
            assertEquals(256, ids.length);
            assertTrue(Arrays.stream(ids).allMatch(id -> id >= 0 && id < TinyT5.VOCAB_SIZE));
            // the known words are whole pieces: ▁photo is piece 4 + index of "photo" in the word list
            long photo = 4 + TinyT5.WORDS.indexOf("photo");
            assertEquals(photo, t.contentIds("photo")[0]);
            assertEquals(1, t.contentIds("photo").length);
        }
    }

    @Test
    void aMissingTokenizerFileIsNamed() {
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> T5Tokenizer.load(dir, 512));
        assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
    }
}
