package io.hicache.qwen.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Qwen-Image-Edit prompt: the template and its 64 dropped tokens on the tiny tokenizer (every
 * word a single token, as in the real vocabulary), the processor's expansion of
 * {@code <|image_pad|>}, and {@code get_rope_index} for one image, with positions worked by hand.
 */
class QwenEditPromptTest {
    /**
     * The 64 tokens diffusers drops for Edit: the 8 structural ones of the T2I template and the 56 of
     * the longer system sentence. Under the Qwen2 pre-tokenizer " (" and ")," are single pre-tokens
     * (a space with punctuation, a punctuation run) and "'s" is a contraction; Ċ is "\n".
     */
    static final List<String> EDIT_PREFIX = List.of("<|im_start|>", "system", "Ċ",
            "Describe", "Ġthe", "Ġkey", "Ġfeatures", "Ġof", "Ġthe", "Ġinput", "Ġimage", "Ġ(", "color", ",", "Ġshape", ",",
            "Ġsize", ",", "Ġtexture", ",", "Ġobjects", ",", "Ġbackground", "),", "Ġthen", "Ġexplain", "Ġhow", "Ġthe",
            "Ġuser", "'s", "Ġtext", "Ġinstruction", "Ġshould", "Ġalter", "Ġor", "Ġmodify", "Ġthe", "Ġimage", ".",
            "ĠGenerate", "Ġa", "Ġnew", "Ġimage", "Ġthat", "Ġmeets", "Ġthe", "Ġuser", "'s", "Ġrequirements", "Ġwhile",
            "Ġmaintaining", "Ġconsistency", "Ġwith", "Ġthe", "Ġoriginal", "Ġinput", "Ġwhere", "Ġappropriate", ".",
            "<|im_end|>", "Ċ", "<|im_start|>", "user", "Ċ");

    @TempDir
    Path dir;

    @Test
    void theEditTemplateIsDiffusersTextWithOneImageBeforeThePrompt() {
        QwenPromptTemplate t = QwenPromptTemplate.EDIT;
        assertEquals("<|im_start|>system\nDescribe the key features of the input image (color, shape, size, texture,"
                + " objects, background), then explain how the user's text instruction should alter or modify the image."
                + " Generate a new image that meets the user's requirements while maintaining consistency with the"
                + " original input where appropriate.<|im_end|>\n<|im_start|>user\n"
                + "<|vision_start|><|image_pad|><|vision_end|>{}<|im_end|>\n<|im_start|>assistant\n", t.template());
        assertEquals(64, t.dropStart());
        assertTrue(t.hasImage());
        assertFalse(QwenPromptTemplate.TEXT_TO_IMAGE.hasImage());
        assertEquals(QwenPromptTemplate.TEXT_TO_IMAGE.prefix(), QwenPromptTemplate.TEXT_TO_IMAGE.dropped());
        assertTrue(t.dropped().endsWith("<|im_start|>user\n"), t.dropped());
        // the processor's expansion: 3 copies of the pad between the vision tags, prompt taken literally
        assertEquals(t.dropped() + "<|vision_start|><|image_pad|><|image_pad|><|image_pad|><|vision_end|>a {x}"
                + "<|im_end|>\n<|im_start|>assistant\n", t.fill("a {x}", 3));
        assertThrows(IllegalArgumentException.class, () -> t.fill("two <|image_pad|>", 3));
        assertThrows(IllegalArgumentException.class, () -> t.fill("a", 0));
        assertThrows(IllegalStateException.class, () -> QwenPromptTemplate.TEXT_TO_IMAGE.fill("a", 3));
        // an image after the prompt, or two, is not a template the encoder can place
        assertThrows(IllegalArgumentException.class, () -> new QwenPromptTemplate("{}" + QwenPromptTemplate.IMAGE_BLOCK, 0));
        assertThrows(IllegalArgumentException.class, () -> new QwenPromptTemplate(
                QwenPromptTemplate.IMAGE_BLOCK + QwenPromptTemplate.IMAGE_BLOCK + "{}", 0));
    }

    @Test
    void theEditTemplateDropsSixtyFourTokensAndKeepsTheImageFromVisionStart() throws IOException {
        TinyQwenTokenizer.write(dir);
        try (Qwen2Tokenizer tok = Qwen2Tokenizer.load(dir)) {
            QwenPromptTemplate t = QwenPromptTemplate.EDIT;
            assertEquals(64, EDIT_PREFIX.size());
            assertEquals(EDIT_PREFIX, List.of(tok.tokens(t.dropped())));
            QwenPromptEncoder.checkTemplate(tok, t);
            // an image of 1×4×6 patches is a 2×3 merge grid: 6 vision tokens
            int n = MultimodalRope.imageTokens(1, 4, 6, 2);
            assertEquals(6, n);
            QwenPromptBatch b = QwenPromptBatch.withImage(tok, t, "a red circle", n);
            long[] ids = b.ids()[0];
            assertEquals(EDIT_PREFIX, List.of(tok.tokens(t.fill("a red circle", n))).subList(0, 64));
            long start = tok.tokenId("<|vision_start|>");
            long pad = tok.tokenId("<|image_pad|>");
            long end = tok.tokenId("<|vision_end|>");
            // the tiny tokenizer numbers its added tokens after its vocabulary, in the real order
            // (<|vision_start|> 151652, <|vision_end|> 151653, <|image_pad|> 151655 in the real one)
            assertEquals(start + 1, end);
            assertEquals(start + 3, pad);
            List<Long> kept = new ArrayList<>();
            Arrays.stream(Arrays.copyOfRange(ids, 64, ids.length)).forEach(kept::add);
            List<Long> expected = new ArrayList<>(List.of(start, pad, pad, pad, pad, pad, pad, end));
            for (String s : List.of("a", "Ġred", "Ġcircle", "<|im_end|>", "Ċ", "<|im_start|>", "assistant", "Ċ")) {
                expected.add(tok.tokenId(s));
            }
            assertEquals(expected, kept);
            assertEquals(64 + 8 + 3 + 5, b.length());
            assertEquals(8 + 3 + 5, b.keptLength(0));
            assertFalse(b.padded());
            // expanding the ids instead of the text gives the same sequence: the pad is an added token,
            // matched before BPE, so its copies never touch the tokens around them
            long[] one = tok.encode(t.fill("a red circle"));
            assertArrayEquals(ids, expandAt(one, pad, n));
            // the negative prompt " " keeps the image, the space and the suffix: 8 + 1 + 5
            assertEquals(14, QwenPromptBatch.withImage(tok, t, " ", n).keptLength(0));
            // no truncation: a 1369-token image (1036² pixels, 74×74 patches) is kept whole
            QwenPromptBatch big = QwenPromptBatch.withImage(tok, t, "a", MultimodalRope.imageTokens(1, 74, 74, 2));
            assertEquals(2 + 1369 + 1 + 5, big.keptLength(0));
        }
    }

    /** {@code ids} with the single {@code token} repeated {@code n} times in place. */
    static long[] expandAt(long[] ids, long token, int n) {
        int at = -1;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == token) {
                assertEquals(-1, at, "one pad");
                at = i;
            }
        }
        long[] out = new long[ids.length + n - 1];
        System.arraycopy(ids, 0, out, 0, at);
        Arrays.fill(out, at, at + n, token);
        System.arraycopy(ids, at + 1, out, at + n, ids.length - at - 1);
        return out;
    }

    @Test
    void aTokenizerWithoutTheVisionTokensIsRefusedForEdit() throws IOException {
        TinyQwenTokenizer.write(dir);
        // only the chat tokens are added ones: the vision tags would become byte pieces
        Files.writeString(dir.resolve("added_tokens.json"), "{\"<|endoftext|>\": " + TinyQwenTokenizer.addedId(0)
                + ", \"<|im_start|>\": " + TinyQwenTokenizer.addedId(1) + ", \"<|im_end|>\": "
                + TinyQwenTokenizer.addedId(2) + "}");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{}");
        try (Qwen2Tokenizer tok = Qwen2Tokenizer.load(dir)) {
            QwenPromptEncoder.checkTemplate(tok, QwenPromptTemplate.TEXT_TO_IMAGE);
            IOException e = assertThrows(IOException.class, () -> QwenPromptEncoder.checkTemplate(tok, QwenPromptTemplate.EDIT));
            assertTrue(e.getMessage().contains("<|vision_start|>"), e.getMessage());
        }
    }

    @Test
    void imageTokenCountsFollowTheMergedGrid() {
        // grid_t·grid_h·grid_w / merge²
        assertEquals(1369, MultimodalRope.imageTokens(1, 74, 74, 2)); // 1036² → 74² patches → 37²
        assertEquals(1225, MultimodalRope.imageTokens(1, 70, 70, 2)); // 980² → 70² patches → 35²
        assertEquals(12, MultimodalRope.imageTokens(2, 4, 6, 2));
        assertThrows(IllegalArgumentException.class, () -> MultimodalRope.imageTokens(1, 5, 6, 2));
        assertThrows(IllegalArgumentException.class, () -> MultimodalRope.imageTokens(0, 4, 6, 2));
    }

    /**
     * 3 text tokens, an image of 1×4×6 patches (a 2×3 merge grid), 2 text tokens after. The text
     * before gets 0, 1, 2 on every axis. The image starts at s = 3; its tokens in row-major order
     * (r, c) = (0,0) (0,1) (0,2) (1,0) (1,1) (1,2) get t = 3, h = 3 + r, w = 3 + c. The largest of
     * those is w = 5, so the text after continues at 6 and 7.
     */
    @Test
    void getRopeIndexForOneImageWorkedByHand() {
        long p = 9; // the image pad id
        long[] ids = {4, 5, 6, p, p, p, p, p, p, 7, 8};
        long[][] positions = MultimodalRope.imagePositions(ids, p, 1, 4, 6, 2);
        assertArrayEquals(new long[] {0, 1, 2, 3, 3, 3, 3, 3, 3, 6, 7}, positions[0]);
        assertArrayEquals(new long[] {0, 1, 2, 3, 3, 3, 4, 4, 4, 6, 7}, positions[1]);
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7}, positions[2]);
        // a tall grid: 3×1 merge units at s = 1 get h = 1, 2, 3 and w = 1; the text after starts at 4
        long[][] tall = MultimodalRope.imagePositions(new long[] {4, p, p, p, 5}, p, 1, 6, 2, 2);
        assertArrayEquals(new long[] {0, 1, 1, 1, 4}, tall[0]);
        assertArrayEquals(new long[] {0, 1, 2, 3, 4}, tall[1]);
        assertArrayEquals(new long[] {0, 1, 1, 1, 4}, tall[2]);
        // two frames of one merge unit each: an image's temporal index stays 0 (second_per_grid_t = 0),
        // so both tokens sit at (1, 1, 1) and the text after at 2
        long[][] frames = MultimodalRope.imagePositions(new long[] {4, p, p, 5}, p, 2, 2, 2, 2);
        for (long[] axis : frames) {
            assertArrayEquals(new long[] {0, 1, 1, 2}, axis);
        }
        // an image first: no text before, positions from 0
        long[][] first = MultimodalRope.imagePositions(new long[] {p, p, 5}, p, 1, 2, 4, 2);
        assertArrayEquals(new long[] {0, 0, 2}, first[0]);
        assertArrayEquals(new long[] {0, 0, 2}, first[1]);
        assertArrayEquals(new long[] {0, 1, 2}, first[2]);
    }

    @Test
    void getRopeIndexRefusesTokensThatDoNotMatchTheGrid() {
        long p = 9;
        IllegalArgumentException few = assertThrows(IllegalArgumentException.class,
                () -> MultimodalRope.imagePositions(new long[] {4, p, p, 5}, p, 1, 4, 6, 2));
        assertTrue(few.getMessage().contains("2 image tokens") && few.getMessage().contains("has 6"), few.getMessage());
        IllegalArgumentException split = assertThrows(IllegalArgumentException.class,
                () -> MultimodalRope.imagePositions(new long[] {p, 4, p}, p, 1, 2, 4, 2));
        assertTrue(split.getMessage().contains("one run"), split.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MultimodalRope.imagePositions(new long[] {4, 5}, p, 1, 2, 2, 2));
    }
}
