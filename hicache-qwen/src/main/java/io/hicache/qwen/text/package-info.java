/**
 * Qwen-Image's prompt side: the Qwen2 byte-level BPE tokenizer, the chat templates with the tokens
 * they drop, and the Qwen2.5-VL language model used as the text encoder.
 */
package io.hicache.qwen.text;
