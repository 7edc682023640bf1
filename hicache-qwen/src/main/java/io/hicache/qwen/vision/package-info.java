/**
 * Qwen-Image-Edit's image side of the prompt: the Qwen2.5-VL vision tower, which turns an input
 * image's pixel patches into the language model's image-token embeddings, with its window and 2-D
 * rotary geometry as pure functions.
 */
package io.hicache.qwen.vision;
