package io.hicache.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.image.RgbImage;
import io.hicache.core.shapes.ShapeAttribute;
import io.hicache.core.shapes.ShapeAttributes;
import io.hicache.core.shapes.ShapePrompt;
import io.hicache.core.shapes.ShapeScene;
import io.hicache.core.shapes.ShapesGenerator;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The training data, drawn on the fly: every batch comes from a generator seeded by (run seed,
 * step), so a resumed run sees exactly the batches an uninterrupted one would.
 */
final class ShapesData {
    /** Share of prompts that name every attribute; the rest name a random subset (short prompts). */
    static final double FULL_PROMPTS = 0.6;
    /** Chance that a partial prompt names a given attribute. */
    static final double NAMED = 0.6;

    private ShapesData() {}

    /** The random source of {@code step} of phase {@code phase} of a run seeded {@code seed}. */
    static Random random(long seed, String phase, long step) {
        return new Random(seed * 0x9E3779B97F4A7C15L + phase.hashCode() * 1_000_003L + step);
    }

    /** {@code count} freshly drawn scenes. */
    static List<ShapeScene> scenes(Random random, int count) {
        ShapeScene[] out = new ShapeScene[count];
        for (int i = 0; i < count; i++) {
            out[i] = ShapesGenerator.jittered(ShapesGenerator.randomAttributes(random), random);
        }
        return List.of(out);
    }

    /** Images [B, 3, 128, 128] in [−1, 1], the VAE's input range. */
    static NDArray images(List<ShapeScene> scenes, NDManager manager) {
        int side = ShapeScene.IMAGE_SIDE;
        int plane = side * side;
        float[] data = new float[scenes.size() * 3 * plane];
        for (int b = 0; b < scenes.size(); b++) {
            RgbImage image = scenes.get(b).render();
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < side; y++) {
                    for (int x = 0; x < side; x++) {
                        data[(b * 3 + c) * plane + y * side + x] = image.sample(x, y, c) / 127.5f - 1f;
                    }
                }
            }
        }
        return manager.create(data, new Shape(scenes.size(), 3, side, side));
    }

    /**
     * The prompt a training sample of {@code attributes} is shown with: empty with probability
     * {@code dropout} (the unconditional branch of classifier-free guidance), else the full prompt or
     * one naming a random subset of the attributes.
     */
    static String prompt(ShapeAttributes attributes, double dropout, Random random) {
        if (random.nextDouble() < dropout) {
            return "";
        }
        if (random.nextDouble() < FULL_PROMPTS) {
            return ShapePrompt.of(attributes).text();
        }
        Set<ShapeAttribute> named = EnumSet.noneOf(ShapeAttribute.class);
        for (ShapeAttribute a : ShapeAttribute.values()) {
            if (random.nextDouble() < NAMED) {
                named.add(a);
            }
        }
        if (named.isEmpty()) {
            named.add(ShapeAttribute.SHAPE);
        }
        return ShapePrompt.of(attributes, named).text();
    }
}
