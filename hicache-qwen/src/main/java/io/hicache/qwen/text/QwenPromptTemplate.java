package io.hicache.qwen.text;

/**
 * A chat template the Qwen-Image pipelines wrap a prompt in before the text encoder, and how many
 * leading tokens (the system turn and {@code <|im_start|>user\n}) are dropped from the encoder's
 * output afterwards.
 *
 * @param template the text with {@link #PLACEHOLDER} where the prompt goes
 * @param dropStart number of leading tokens dropped ({@code prompt_template_encode_start_idx})
 */
public record QwenPromptTemplate(String template, int dropStart) {
    public static final String PLACEHOLDER = "{}";

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

    public QwenPromptTemplate {
        int at = template.indexOf(PLACEHOLDER);
        if (at < 0 || template.indexOf(PLACEHOLDER, at + 1) >= 0) {
            throw new IllegalArgumentException("a prompt template needs exactly one " + PLACEHOLDER + ": " + template);
        }
        if (dropStart < 0) {
            throw new IllegalArgumentException("dropped token count must be non-negative, got " + dropStart);
        }
    }

    /** The template with {@code prompt} in place (taken literally: braces in it are kept). */
    public String fill(String prompt) {
        return prefix() + prompt + suffix();
    }

    /** The text before the prompt: it tokenizes to the {@link #dropStart} dropped tokens. */
    public String prefix() {
        return template.substring(0, template.indexOf(PLACEHOLDER));
    }

    /** The text after the prompt. */
    public String suffix() {
        return template.substring(template.indexOf(PLACEHOLDER) + PLACEHOLDER.length());
    }
}
