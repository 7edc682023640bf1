package io.hicache.qwen.text;

/**
 * A chat template the Qwen-Image pipelines wrap a prompt in before the text encoder, and how many
 * leading tokens (the system turn and {@code <|im_start|>user\n}) are dropped from the encoder's
 * output afterwards.
 *
 * <p>A template may hold one image, written {@link #IMAGE_BLOCK} before the prompt. Qwen2-VL's
 * processor replaces its {@link #IMAGE_PAD} with one copy per vision token before tokenising
 * ({@link #fill(String, int)}); the language model then takes the vision tower's features at those
 * positions. The dropped tokens end right before {@link #VISION_START}, so the kept sequence starts
 * with the image.
 *
 * @param template the text with {@link #PLACEHOLDER} where the prompt goes
 * @param dropStart number of leading tokens dropped ({@code prompt_template_encode_start_idx})
 */
public record QwenPromptTemplate(String template, int dropStart) {
    public static final String PLACEHOLDER = "{}";
    public static final String VISION_START = "<|vision_start|>";
    public static final String IMAGE_PAD = "<|image_pad|>";
    public static final String VISION_END = "<|vision_end|>";
    /** One image in the text, as the Edit template and Qwen2.5-VL's chat template write it. */
    public static final String IMAGE_BLOCK = VISION_START + IMAGE_PAD + VISION_END;

    /**
     * diffusers' {@code QwenImagePipeline} template: 8 structural tokens and the 26 tokens of the
     * system sentence come before the prompt, so 34 are dropped and the kept sequence is the prompt
     * tokens followed by {@code <|im_end|> \n <|im_start|> assistant \n}.
     */
    public static final QwenPromptTemplate TEXT_TO_IMAGE = new QwenPromptTemplate(
            "<|im_start|>system\nDescribe the image by detailing the color, shape, size, texture, quantity, text,"
                    + " spatial relationships of the objects and background:<|im_end|>\n<|im_start|>user\n"
                    + PLACEHOLDER + "<|im_end|>\n<|im_start|>assistant\n",
            34);

    /**
     * diffusers' {@code QwenImageEditPipeline} template: the same 8 structural tokens and the 56
     * tokens of the longer system sentence come before the image, so 64 are dropped and the kept
     * sequence is {@code <|vision_start|>}, the vision tokens, {@code <|vision_end|>}, the prompt
     * tokens and the 5-token suffix.
     */
    public static final QwenPromptTemplate EDIT = new QwenPromptTemplate(
            "<|im_start|>system\nDescribe the key features of the input image (color, shape, size, texture, objects,"
                    + " background), then explain how the user's text instruction should alter or modify the image."
                    + " Generate a new image that meets the user's requirements while maintaining consistency with the"
                    + " original input where appropriate.<|im_end|>\n<|im_start|>user\n" + IMAGE_BLOCK + PLACEHOLDER
                    + "<|im_end|>\n<|im_start|>assistant\n",
            64);

    public QwenPromptTemplate {
        int at = template.indexOf(PLACEHOLDER);
        if (at < 0 || template.indexOf(PLACEHOLDER, at + 1) >= 0) {
            throw new IllegalArgumentException("a prompt template needs exactly one " + PLACEHOLDER + ": " + template);
        }
        if (dropStart < 0) {
            throw new IllegalArgumentException("dropped token count must be non-negative, got " + dropStart);
        }
        int pad = template.indexOf(IMAGE_PAD);
        if (pad >= 0 && (template.indexOf(IMAGE_PAD, pad + 1) >= 0 || template.indexOf(IMAGE_BLOCK) < 0
                || template.indexOf(IMAGE_BLOCK) > at)) {
            throw new IllegalArgumentException("a prompt template holds at most one image, written " + IMAGE_BLOCK
                    + " before " + PLACEHOLDER + ": " + template);
        }
    }

    /** True when the template holds an image ({@link #IMAGE_BLOCK}). */
    public boolean hasImage() {
        return template.contains(IMAGE_PAD);
    }

    /** The template with {@code prompt} in place (taken literally: braces in it are kept). */
    public String fill(String prompt) {
        return prefix() + prompt + suffix();
    }

    /**
     * The template with {@code prompt} in place and its {@link #IMAGE_PAD} repeated
     * {@code imageTokens} times, as Qwen2-VL's processor expands it
     * ({@code image_grid_thw.prod() / merge_size²} copies). The prompt must not hold an image pad
     * of its own: the processor would take it for a second image.
     */
    public String fill(String prompt, int imageTokens) {
        if (!hasImage()) {
            throw new IllegalStateException("this template holds no image: " + template);
        }
        if (imageTokens < 1) {
            throw new IllegalArgumentException("an image needs at least one vision token, got " + imageTokens);
        }
        if (prompt.contains(IMAGE_PAD)) {
            throw new IllegalArgumentException("the prompt holds " + IMAGE_PAD + ", which would be taken for a second"
                    + " image; the template places the one image itself");
        }
        String p = prefix();
        int pad = p.indexOf(IMAGE_PAD);
        return p.substring(0, pad) + IMAGE_PAD.repeat(imageTokens) + p.substring(pad + IMAGE_PAD.length()) + prompt
                + suffix();
    }

    /** The text before the prompt (with the image block, if any). */
    public String prefix() {
        return template.substring(0, template.indexOf(PLACEHOLDER));
    }

    /** The text after the prompt. */
    public String suffix() {
        return template.substring(template.indexOf(PLACEHOLDER) + PLACEHOLDER.length());
    }

    /**
     * The text that tokenizes to the {@link #dropStart} dropped tokens: the prefix, or for a template
     * with an image the text before its {@link #VISION_START}.
     */
    public String dropped() {
        return hasImage() ? template.substring(0, template.indexOf(IMAGE_BLOCK)) : prefix();
    }
}
