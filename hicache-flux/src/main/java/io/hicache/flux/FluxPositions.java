package io.hicache.flux;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/** FLUX's 3-axis position ids: text tokens all zero, image token (r, c) of the packed grid = (0, r, c). */
public final class FluxPositions {
    private FluxPositions() {}

    /** Ids [(h/2)(w/2), 3] float32 of the image tokens of an h × w latent: row r·(w/2)+c = (0, r, c). */
    public static NDArray imageIds(long height, long width, NDManager manager) {
        int h2 = Math.toIntExact(height / 2);
        int w2 = Math.toIntExact(width / 2);
        float[] ids = new float[h2 * w2 * 3];
        for (int r = 0; r < h2; r++) {
            for (int c = 0; c < w2; c++) {
                int row = (r * w2 + c) * 3;
                ids[row + 1] = r;
                ids[row + 2] = c;
            }
        }
        return manager.create(ids, new Shape((long) h2 * w2, 3));
    }

    /** Ids [length, 3] float32 of text tokens: all zero (text is not rotated). */
    public static NDArray textIds(long length, NDManager manager) {
        return manager.zeros(new Shape(length, 3));
    }
}
