package io.hicache.qwen.vision;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicache.qwen.vision.VisionWindows.Partition;
import io.hicache.qwen.vision.VisionWindows.Run;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The window permutation and segment boundaries, worked by hand on small grids. */
class VisionWindowsTest {
    /*
     * 8 × 12 patches, merge 2: 4 × 6 merge units, unit (r, c) = 6r + c. Windows of 2 × 2 units,
     * row-major, units row-major inside:
     *   W(0,0) = 0 1 / 6 7      W(0,1) = 2 3 / 8 9      W(0,2) = 4 5 / 10 11
     *   W(1,0) = 12 13 / 18 19  W(1,1) = 14 15 / 20 21  W(1,2) = 16 17 / 22 23
     * Every window has 4 units = 16 patches.
     */
    @Test
    void windowsOfADivisibleGridAreRowMajorWithUnitsRowMajorInside() {
        Partition p = VisionWindows.windows(1, 8, 12, 2, 2);
        assertArrayEquals(new int[] {0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11, 12, 13, 18, 19, 14, 15, 20, 21, 16, 17,
            22, 23}, p.unitOrder());
        // upstream pads a divisible unit grid by one whole (empty) window per row and column and
        // then drops the repeated boundaries: six windows, no empty segment
        assertArrayEquals(new int[] {0, 16, 32, 48, 64, 80, 96}, p.cuSeqlens());
    }

    /*
     * 10 × 6 patches: 5 × 3 units, unit (r, c) = 3r + c. Window rows {0,1}, {2,3}, {4}; columns
     * {0,1}, {2}:
     *   W(0,0) = 0 1 / 3 4 (16 patches)   W(0,1) = 2 / 5 (8)
     *   W(1,0) = 6 7 / 9 10 (16)          W(1,1) = 8 / 11 (8)
     *   W(2,0) = 12 13 (8)                W(2,1) = 14 (4)
     * cu = 0, 16, 24, 40, 48, 56, 60.
     */
    @Test
    void edgeWindowsAreSmaller() {
        Partition p = VisionWindows.windows(1, 10, 6, 2, 2);
        assertArrayEquals(new int[] {0, 1, 3, 4, 2, 5, 6, 7, 9, 10, 8, 11, 12, 13, 14}, p.unitOrder());
        assertArrayEquals(new int[] {0, 16, 24, 40, 48, 56, 60}, p.cuSeqlens());
    }

    @Test
    void groupingBySizeMovesEqualWindowsTogetherStably() {
        // the windows above by decreasing size, ties in their original order:
        // W(0,0), W(1,0) (16 each), W(0,1), W(1,1), W(2,0) (8 each), W(2,1) (4)
        Partition g = VisionWindows.groupedBySize(VisionWindows.windows(1, 10, 6, 2, 2), 4, 15);
        assertArrayEquals(new int[] {0, 1, 3, 4, 6, 7, 9, 10, 2, 5, 8, 11, 12, 13, 14}, g.unitOrder());
        assertArrayEquals(new int[] {0, 16, 32, 40, 48, 56, 60}, g.cuSeqlens());
        assertEquals(List.of(new Run(0, 2, 16), new Run(32, 3, 8), new Run(56, 1, 4)), VisionWindows.runs(g.cuSeqlens()));
    }

    /*
     * Two frames of 4 × 6 patches (2 × 3 units, 6 units a frame): frame 0 has W = 0 1 / 3 4 and
     * 2 / 5, frame 1 the same plus 6. Grouping must not move frame 1's large window before frame
     * 0's small one: the full-attention blocks need each frame contiguous.
     */
    @Test
    void framesStayContiguousAndInOrder() {
        Partition p = VisionWindows.windows(2, 4, 6, 2, 2);
        assertArrayEquals(new int[] {0, 1, 3, 4, 2, 5, 6, 7, 9, 10, 8, 11}, p.unitOrder());
        assertArrayEquals(new int[] {0, 16, 24, 40, 48}, p.cuSeqlens());
        Partition g = VisionWindows.groupedBySize(p, 4, 6);
        assertArrayEquals(p.unitOrder(), g.unitOrder());
        assertArrayEquals(p.cuSeqlens(), g.cuSeqlens());
        assertEquals(List.of(new Run(0, 1, 16), new Run(16, 1, 8), new Run(24, 1, 16), new Run(40, 1, 8)),
                VisionWindows.runs(g.cuSeqlens()));
        // full attention: one segment per frame of 4 · 6 = 24 patches
        assertArrayEquals(new int[] {0, 24, 48}, VisionWindows.frames(2, 4, 6));
        assertEquals(List.of(new Run(0, 2, 24)), VisionWindows.runs(VisionWindows.frames(2, 4, 6)));
    }

    /*
     * The real model at 1036² pixels: 74 × 74 patches, 37 × 37 units, windows of 4 × 4 units.
     * 37 = 9·4 + 1, so 9 × 9 full windows of 16 units (64 patches), 9 right-edge windows of 4 × 1
     * and 9 bottom-edge windows of 1 × 4 units (16 patches each) and one corner unit (4 patches):
     * 81·64 + 18·16 + 4 = 5184 + 288 + 4 = 5476 = 74².
     */
    @Test
    void realModelGeometryGivesThreeBatchedRuns() {
        Partition p = VisionWindows.windows(1, 74, 74, 2, 4);
        assertEquals(101, p.cuSeqlens().length);
        assertEquals(5476, p.cuSeqlens()[100]);
        Partition g = VisionWindows.groupedBySize(p, 4, 37 * 37);
        assertEquals(List.of(new Run(0, 81, 64), new Run(5184, 18, 16), new Run(5472, 1, 4)),
                VisionWindows.runs(g.cuSeqlens()));
    }

    @Test
    void inverseRestoresTheOriginalOrder() {
        int[] order = VisionWindows.windows(1, 10, 6, 2, 2).unitOrder();
        int[] inverse = VisionWindows.inverse(order);
        for (int u = 0; u < order.length; u++) {
            // restored[u] = permuted[inverse[u]] = order[inverse[u]]
            assertEquals(u, order[inverse[u]]);
        }
        // worked: order[4] = 2, so inverse[2] = 4; order[14] = 14
        assertEquals(4, inverse[2]);
        assertEquals(14, inverse[14]);
        assertThrows(IllegalArgumentException.class, () -> VisionWindows.inverse(new int[] {0, 0}));
        assertThrows(IllegalArgumentException.class, () -> VisionWindows.inverse(new int[] {1, 2}));
    }

    @Test
    void patchOrderExpandsUnitsToTheirPatches() {
        assertArrayEquals(new int[] {8, 9, 10, 11, 0, 1, 2, 3}, VisionWindows.patchOrder(new int[] {2, 0}, 4));
    }

    @Test
    void everyUnitAppearsOnceAndSegmentsStayInsideWindows() {
        for (int[] grid : new int[][] {{1, 14, 22}, {3, 6, 8}, {1, 2, 2}, {2, 30, 10}}) {
            Partition p = VisionWindows.windows(grid[0], grid[1], grid[2], 2, 3);
            int unitCols = grid[2] / 2;
            int unitsPerFrame = grid[1] / 2 * unitCols;
            VisionWindows.inverse(p.unitOrder()); // throws unless a permutation
            int[] cu = p.cuSeqlens();
            for (int s = 0; s + 1 < cu.length; s++) {
                assertTrue(cu[s + 1] > cu[s], "empty segment");
                int first = p.unitOrder()[cu[s] / 4];
                for (int patch = cu[s]; patch < cu[s + 1]; patch += 4) {
                    int u = p.unitOrder()[patch / 4];
                    assertEquals(first / unitsPerFrame, u / unitsPerFrame, "segment crosses frames");
                    int q = u % unitsPerFrame;
                    int q0 = first % unitsPerFrame;
                    assertEquals(q0 / unitCols / 3, q / unitCols / 3, "segment crosses window rows");
                    assertEquals(q0 % unitCols / 3, q % unitCols / 3, "segment crosses window columns");
                }
            }
        }
    }

    @Test
    void badGridsAreRefused() {
        IllegalArgumentException odd = assertThrows(IllegalArgumentException.class,
                () -> VisionWindows.windows(1, 7, 8, 2, 2));
        assertTrue(odd.getMessage().contains("multiples of spatial_merge_size"), odd.getMessage());
        assertThrows(IllegalArgumentException.class, () -> VisionWindows.windows(0, 8, 8, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> VisionWindows.windows(1, 8, 8, 2, 0));
    }
}
