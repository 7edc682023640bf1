package io.hicache.core.shapes;

import io.hicache.core.image.RgbImage;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * Scores images against their Shapes prompts: for each attribute a prompt names, whether
 * {@link ShapeChecker} reads it back from the image. Attributes the prompt leaves out are not scored;
 * an image without an object fails every attribute its prompt names. Prompts outside the grammar, or
 * naming nothing, cannot be graded and are only counted.
 *
 * <p>Not thread-safe: one instance per scoring loop.
 */
public final class Faithfulness {
    private final Map<ShapeAttribute, int[]> perAttribute = new EnumMap<>(ShapeAttribute.class);
    private int correct;
    private int named;
    private int imagesAllCorrect;
    private int images;
    private int ungradable;

    public Faithfulness() {
        for (ShapeAttribute attribute : ShapeAttribute.values()) {
            perAttribute.put(attribute, new int[2]);
        }
    }

    /** Number of correct and of named attributes, and their ratio. */
    public record Tally(int correct, int total) {
        /** {@code correct / total}; NaN when nothing was counted. */
        public double fraction() {
            return total == 0 ? Double.NaN : (double) correct / total;
        }
    }

    /**
     * The score of a set of images.
     *
     * @param perAttribute each attribute's tally over the images whose prompt names it
     * @param overall all named attributes of all images together
     * @param allCorrect images with every named attribute right, over the graded images
     * @param ungradable prompts that could not be graded (not in the grammar, or naming nothing)
     */
    public record Score(Map<ShapeAttribute, Tally> perAttribute, Tally overall, Tally allCorrect, int ungradable) {}

    /** Which of the prompt's named attributes {@code reading} gets right (all wrong when empty). */
    public static Map<ShapeAttribute, Boolean> verdict(ShapePrompt prompt, Optional<ShapeReading> reading) {
        Map<ShapeAttribute, Boolean> verdict = new EnumMap<>(ShapeAttribute.class);
        for (ShapeAttribute attribute : prompt.named()) {
            verdict.put(attribute, reading.isPresent() && reading.get().get(attribute) == prompt.get(attribute));
        }
        return verdict;
    }

    /** Checks {@code image} against {@code prompt} text; false (and counted as ungradable) when the text cannot be graded. */
    public boolean add(String prompt, RgbImage image) {
        Optional<ShapePrompt> parsed = ShapePrompt.parse(prompt);
        if (parsed.isEmpty() || parsed.get().named().isEmpty()) {
            ungradable++;
            return false;
        }
        add(parsed.get(), ShapeChecker.read(image));
        return true;
    }

    /** Adds one image's reading (empty: no object) against its prompt. */
    public void add(ShapePrompt prompt, Optional<ShapeReading> reading) {
        Map<ShapeAttribute, Boolean> verdict = verdict(prompt, reading);
        if (verdict.isEmpty()) {
            ungradable++;
            return;
        }
        boolean all = true;
        for (Map.Entry<ShapeAttribute, Boolean> e : verdict.entrySet()) {
            int[] tally = perAttribute.get(e.getKey());
            tally[1]++;
            named++;
            if (e.getValue()) {
                tally[0]++;
                correct++;
            } else {
                all = false;
            }
        }
        images++;
        if (all) {
            imagesAllCorrect++;
        }
    }

    /** The score so far. */
    public Score score() {
        Map<ShapeAttribute, Tally> tallies = new EnumMap<>(ShapeAttribute.class);
        perAttribute.forEach((attribute, t) -> tallies.put(attribute, new Tally(t[0], t[1])));
        return new Score(Collections.unmodifiableMap(tallies), new Tally(correct, named),
                new Tally(imagesAllCorrect, images), ungradable);
    }
}
