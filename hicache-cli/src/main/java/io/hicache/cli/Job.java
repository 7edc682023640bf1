package io.hicache.cli;

/**
 * One image of a run.
 *
 * @param index global image index: {@code promptIndex × imagesPerPrompt + k}; names the files
 *     ({@code img_<index>.png}) and picks the row of {@code --init-noise}
 * @param promptIndex position of the prompt in the prompt list; picks the row of {@code --prompt-embeds}
 * @param prompt the prompt text
 * @param seed {@code --seed + index}
 */
record Job(int index, int promptIndex, String prompt, long seed) {
    /** File name stem, e.g. {@code img_12}. */
    String stem() {
        return "img_" + index;
    }
}
