package io.hicache.qwen.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.nn.RotaryEmbedding;
import java.util.List;

/**
 * Qwen-Image's multi-scale RoPE positions ({@code QwenEmbedRope} with {@code scale_rope = True}),
 * docs/qwen-image.md §4. Each token gets three positions (frame, row, column):
 * <ul>
 *   <li>image {@code idx} of the list (0 = the generated image, 1, 2, … = Edit's condition images),
 *       frame {@code f} of it: frame position {@code idx + f};
 *   <li>packed row {@code r} of {@code rows}: {@code r − ⌈rows/2⌉}, i.e. −⌈rows/2⌉ … ⌊rows/2⌋ − 1, and
 *       the same for columns — the grid is centred on 0 (odd sides have one more negative position);
 *   <li>text token {@code j}: {@code m + j} on all three axes, on the diagonal just past the images,
 *       {@code m = max over images of max(⌊rows/2⌋, ⌊cols/2⌋)}.
 * </ul>
 * Tokens of an image are in frame-major, row-major order, the packing order.
 */
public final class MsRope {
    private MsRope() {}

    /** The packed token grid of one image: frames × rows × columns (rows = height/16 for Qwen-Image). */
    public record Grid(int frames, int rows, int cols) {
        public Grid {
            if (frames < 1 || rows < 1 || cols < 1) {
                throw new IllegalArgumentException("an image grid needs positive sides, got " + frames + "×" + rows + "×"
                        + cols);
            }
        }

        /** One frame of {@code rows} × {@code cols} packed tokens. */
        public static Grid of(int rows, int cols) {
            return new Grid(1, rows, cols);
        }

        public long tokens() {
            return (long) frames * rows * cols;
        }
    }

    /** The first text position: max over images of max(⌊rows/2⌋, ⌊cols/2⌋). */
    public static int textStart(List<Grid> images) {
        if (images.isEmpty()) {
            throw new IllegalArgumentException("at least one image grid is needed");
        }
        int m = 0;
        for (Grid g : images) {
            m = Math.max(m, Math.max(g.rows() / 2, g.cols() / 2));
        }
        return m;
    }

    /** Positions of every image token, images in list order, row-major [tokens × 3]. */
    public static int[] imagePositions(List<Grid> images) {
        long total = 0;
        for (Grid g : images) {
            total += g.tokens();
        }
        int[] ids = new int[Math.toIntExact(3 * total)];
        int at = 0;
        for (int idx = 0; idx < images.size(); idx++) {
            Grid g = images.get(idx);
            int rowShift = (g.rows() + 1) / 2;
            int colShift = (g.cols() + 1) / 2;
            for (int f = 0; f < g.frames(); f++) {
                for (int r = 0; r < g.rows(); r++) {
                    for (int c = 0; c < g.cols(); c++) {
                        ids[at++] = idx + f;
                        ids[at++] = r - rowShift;
                        ids[at++] = c - colShift;
                    }
                }
            }
        }
        return ids;
    }

    /** Positions of {@code textTokens} text tokens after {@code images}, row-major [tokens × 3]. */
    public static int[] textPositions(long textTokens, List<Grid> images) {
        int start = textStart(images);
        int[] ids = new int[Math.toIntExact(3 * textTokens)];
        for (int j = 0; j < textTokens; j++) {
            ids[3 * j] = start + j;
            ids[3 * j + 1] = start + j;
            ids[3 * j + 2] = start + j;
        }
        return ids;
    }

    /**
     * RoPE tables of the joint sequence [text; images] (the transformer's attention order) with
     * {@code axesDims} per axis and base 10000, on {@code manager}.
     */
    public static RotaryEmbedding joint(long textTokens, List<Grid> images, int[] axesDims, NDManager manager) {
        int[] text = textPositions(textTokens, images);
        int[] image = imagePositions(images);
        float[] ids = new float[text.length + image.length];
        for (int i = 0; i < text.length; i++) {
            ids[i] = text[i];
        }
        for (int i = 0; i < image.length; i++) {
            ids[text.length + i] = image[i];
        }
        try (NDArray table = manager.create(ids, new Shape(ids.length / 3, 3))) {
            return RotaryEmbedding.of(table, axesDims, QwenImageConfig.ROPE_THETA, manager);
        }
    }
}
