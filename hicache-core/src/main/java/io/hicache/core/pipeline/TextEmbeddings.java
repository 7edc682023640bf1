package io.hicache.core.pipeline;

/**
 * Text conditioning of one prompt as the transformer consumes it: per-token embeddings [1, L, D]
 * and, for models that use one, a pooled vector [1, P] (null otherwise).
 */
public record TextEmbeddings(HostTensor tokens, HostTensor pooled) {
}
