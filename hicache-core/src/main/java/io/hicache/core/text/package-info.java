/**
 * Tokenizer plumbing shared by the backends: loading {@code tokenizer.json} documents into DJL's
 * HuggingFace tokenizers binding, and the byte-level BPE pieces (GPT-2's byte table, merges files,
 * merges for tiny test vocabularies) from which a tokenizer.json is assembled when a model ships
 * only {@code vocab.json} and {@code merges.txt}.
 */
package io.hicache.core.text;
