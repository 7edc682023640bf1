package io.hicache.core.bench;

import io.hicache.core.image.RgbImage;
import io.hicache.core.shapes.Faithfulness;
import io.hicache.core.shapes.ShapeAttribute;
import io.hicache.core.shapes.ShapeChecker;
import io.hicache.core.shapes.ShapePrompt;
import io.hicache.core.shapes.ShapeScene;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * How faithfully a benchmark's images show their prompts, when the prompts are those of the Shapes
 * task (demo-model.md): {@link ShapeChecker} reads each image back and {@link Faithfulness} scores the
 * attributes its prompt names. A run is scored only as a whole: every prompt must be a gradable Shapes
 * prompt and the images the checker's {@value ShapeScene#IMAGE_SIDE}² size, so that every configuration
 * is scored on the same images; otherwise {@link #unscorable} says why.
 */
public final class PromptFaithfulness {
    private PromptFaithfulness() {}

    /**
     * One configuration's score, each a fraction in [0, 1].
     *
     * @param perAttribute per attribute some prompt names ({@code size}, {@code colour}, {@code shape},
     *     {@code position}, {@code background}, in that order): the fraction of the images whose prompt
     *     names it that show it
     * @param overall all named attributes of all images together
     * @param allCorrect the images with every named attribute right
     * @param images the images scored
     */
    public record Score(Map<String, Double> perAttribute, double overall, double allCorrect, int images) {
        public Score {
            perAttribute = Collections.unmodifiableMap(new LinkedHashMap<>(perAttribute));
        }
    }

    /**
     * Why images of {@code prompts} at {@code width}×{@code height} cannot be scored (one line, for the
     * report), or empty when they can.
     */
    public static Optional<String> unscorable(List<String> prompts, int width, int height) {
        for (String p : prompts) {
            Optional<ShapePrompt> parsed = ShapePrompt.parse(p);
            if (parsed.isEmpty()) {
                return Optional.of("prompts do not follow the Shapes grammar (e.g. '" + p + "')");
            }
            if (parsed.get().named().isEmpty()) {
                return Optional.of("prompt '" + p + "' names no Shapes attribute to check");
            }
        }
        int side = ShapeScene.IMAGE_SIDE;
        if (width != side || height != side) {
            return Optional.of("the Shapes checker reads " + side + "x" + side + " images, these are " + width + "x"
                    + height);
        }
        return Optional.empty();
    }

    /**
     * The score of {@code images} against {@code prompts} (same order) of a scorable run. A missing
     * image (null) shows nothing, so it fails every attribute its prompt names.
     */
    public static Score score(List<String> prompts, List<RgbImage> images) {
        if (prompts.size() != images.size()) {
            throw new IllegalArgumentException(prompts.size() + " prompts but " + images.size() + " images");
        }
        Faithfulness f = new Faithfulness();
        for (int i = 0; i < prompts.size(); i++) {
            String p = prompts.get(i);
            ShapePrompt prompt = ShapePrompt.parse(p).filter(s -> !s.named().isEmpty()).orElseThrow(
                    () -> new IllegalArgumentException("not a gradable Shapes prompt: '" + p + "'"));
            f.add(prompt, images.get(i) == null ? Optional.empty() : ShapeChecker.read(images.get(i)));
        }
        Faithfulness.Score s = f.score();
        Map<String, Double> perAttribute = new LinkedHashMap<>();
        for (ShapeAttribute attribute : ShapeAttribute.values()) {
            Faithfulness.Tally t = s.perAttribute().get(attribute);
            if (t.total() > 0) {
                perAttribute.put(attribute.name().toLowerCase(Locale.ROOT), t.fraction());
            }
        }
        return new Score(perAttribute, s.overall().fraction(), s.allCorrect().fraction(), s.allCorrect().total());
    }
}
