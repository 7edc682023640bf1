package io.hicache.cli;

/**
 * One image of a run.
 *
 * @param index global image index: {@code promptIndex × imagesPerPrompt + k}; names the files
 *     ({@code img_<index>.png}) and picks the row of {@code --init-noise}
 * @param promptIndex position of the prompt in the prompt list; picks the row of {@code --prompt-embeds}
 * @param prompt the prompt text
 * @param seed {@code --seed + index}
 * @param image the prompt's condition image (image-editing backends), or null
 * @param size the image's own size in pixels when it follows its condition image, or null for the
 *     run's size
 */
record Job(int index, int promptIndex, String prompt, long seed, ConditionImage image, Size size) {
    /** A width and a height in pixels. */
    record Size(int width, int height) {
        @Override
        public String toString() {
            return width + "x" + height;
        }
    }

    /** A job without a condition image, of the run's size. */
    Job(int index, int promptIndex, String prompt, long seed) {
        this(index, promptIndex, prompt, seed, null, null);
    }

    /** File name stem, e.g. {@code img_12}. */
    String stem() {
        return "img_" + index;
    }
}
