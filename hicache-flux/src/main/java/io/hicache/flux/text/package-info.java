/**
 * FLUX.1's text side: the CLIP-L text tower (pooled vector) and the T5 v1.1 XXL encoder (sequence),
 * with their prompt tokenizers, loaded from a diffusers model folder.
 *
 * <pre>{@code
 * try (ClipTokenizer clipTok = ClipTokenizer.load(root.resolve("tokenizer"));
 *      T5Tokenizer t5Tok = T5Tokenizer.load(root.resolve("tokenizer_2"), T5Tokenizer.DEV_MAX_LENGTH);
 *      ClipTextEncoder clip = ClipTextEncoder.load(root.resolve("text_encoder"), TensorType.BF16, manager);
 *      T5Encoder t5 = T5Encoder.load(root.resolve("text_encoder_2"), TensorType.BF16, manager)) {
 *     NDArray pooled = clip.encode(clipTok.encode(prompts, manager)).pooled();   // [B, 768]
 *     NDArray context = t5.encode(t5Tok.encode(prompts, manager));            // [B, 512, 4096]
 * }
 * }</pre>
 *
 * {@link io.hicache.flux.text.TinyClip} and {@link io.hicache.flux.text.TinyT5} write tiny models and
 * tokenizers of the same layout for tests and the built-in tiny model.
 */
package io.hicache.flux.text;
