package io.hicache.qwen.transformer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import io.hicache.core.nn.RotaryEmbedding;
import java.util.List;
import org.junit.jupiter.api.Test;

/** MSRoPE positions written out by hand (docs/qwen-image.md §4). */
class MsRopeTest {
    /** 3 rows × 5 columns: rows at −2, −1, 0 and columns at −3 … 1 (odd sides: one more negative). */
    @Test
    void oddGridIsCentredWithTheExtraPositionNegative() {
        int[] expected = {
            0, -2, -3, 0, -2, -2, 0, -2, -1, 0, -2, 0, 0, -2, 1,
            0, -1, -3, 0, -1, -2, 0, -1, -1, 0, -1, 0, 0, -1, 1,
            0, 0, -3, 0, 0, -2, 0, 0, -1, 0, 0, 0, 0, 0, 1};
        assertArrayEquals(expected, MsRope.imagePositions(List.of(MsRope.Grid.of(3, 5))));
        // m = max(⌊3/2⌋, ⌊5/2⌋) = 2
        assertArrayEquals(new int[] {2, 2, 2, 3, 3, 3, 4, 4, 4}, MsRope.textPositions(3, List.of(MsRope.Grid.of(3, 5))));
    }

    /** 2 rows × 4 columns: rows −1, 0 and columns −2 … 1; text from max(1, 2) = 2. */
    @Test
    void evenGridIsCentred() {
        int[] expected = {
            0, -1, -2, 0, -1, -1, 0, -1, 0, 0, -1, 1,
            0, 0, -2, 0, 0, -1, 0, 0, 0, 0, 0, 1};
        assertArrayEquals(expected, MsRope.imagePositions(List.of(MsRope.Grid.of(2, 4))));
        assertArrayEquals(new int[] {2, 2, 2, 3, 3, 3}, MsRope.textPositions(2, List.of(MsRope.Grid.of(2, 4))));
    }

    /** 1328² → 83 × 83 packed: −42 … 40, text from 41; 1024² → 64 × 64: −32 … 31, text from 32. */
    @Test
    void realSizes() {
        int[] p83 = MsRope.imagePositions(List.of(MsRope.Grid.of(83, 83)));
        assertEquals(-42, p83[1]);
        assertEquals(-42, p83[2]);
        assertEquals(40, p83[p83.length - 2]);
        assertEquals(40, p83[p83.length - 1]);
        assertEquals(41, MsRope.textStart(List.of(MsRope.Grid.of(83, 83))));
        int[] p64 = MsRope.imagePositions(List.of(MsRope.Grid.of(64, 64)));
        assertEquals(-32, p64[1]);
        assertEquals(31, p64[p64.length - 1]);
        assertEquals(32, MsRope.textStart(List.of(MsRope.Grid.of(64, 64))));
    }

    /** Edit: the condition image is frame 1; text starts past the larger of the two grids. */
    @Test
    void conditionImagesTakeTheNextFrameIndex() {
        List<MsRope.Grid> grids = List.of(MsRope.Grid.of(2, 2), MsRope.Grid.of(1, 6));
        int[] expected = {
            0, -1, -1, 0, -1, 0, 0, 0, -1, 0, 0, 0,
            1, -1, -3, 1, -1, -2, 1, -1, -1, 1, -1, 0, 1, -1, 1, 1, -1, 2};
        assertArrayEquals(expected, MsRope.imagePositions(grids));
        assertEquals(3, MsRope.textStart(grids));
        assertThrows(IllegalArgumentException.class, () -> MsRope.textStart(List.of()));
    }

    /** The joint tables put text first; token angles are p·10000^(−2k/dim) per axis. */
    @Test
    void jointTablesAreTextThenImage() {
        try (NDManager m = NDManager.newBaseManager()) {
            int[] axes = {4, 6, 6};
            RotaryEmbedding rope = MsRope.joint(2, List.of(MsRope.Grid.of(2, 3)), axes, m);
            assertEquals(8, rope.length());
            float[] cos = rope.cos().toFloatArray();
            // text token 1 sits at position m + 1 = 2 on every axis; angle k=0 of each axis = 2
            assertEquals(Math.cos(2), cos[8], 1e-6);
            assertEquals(Math.cos(2), cos[8 + 2], 1e-6);
            assertEquals(Math.cos(2), cos[8 + 5], 1e-6);
            // image token 0 at (0, −1, −2): row angle k=1 is −1·10000^(−2/6), column k=0 is −2
            int t = 2;
            assertEquals(Math.cos(-Math.pow(10000, -2.0 / 6)), cos[t * 8 + 3], 1e-6);
            assertEquals(Math.cos(-2), cos[t * 8 + 5], 1e-6);
            assertEquals(1, cos[t * 8], 1e-6, "frame 0");
        }
    }
}
