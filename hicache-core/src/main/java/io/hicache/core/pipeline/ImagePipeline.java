package io.hicache.core.pipeline;

/**
 * A loaded model on one device that turns requests into images. Not thread-safe: use one
 * pipeline per worker thread. Closing frees all native memory it holds.
 */
public interface ImagePipeline extends AutoCloseable {
    /** Generates one image. */
    GenerationResult generate(GenerationRequest request) throws Exception;

    /** Encodes a prompt once so several generations (or workers) can share it. */
    TextEmbeddings encode(String prompt) throws Exception;

    /**
     * Frees the text encoders once every prompt is encoded (later requests must carry
     * embeddings). Does nothing for pipelines without separate text encoders.
     */
    default void releaseTextEncoders() {
    }

    /** A one-line description of the loaded model (name, size, dtype, device). */
    String describe();

    /** Bytes of model weights this pipeline holds. */
    long parameterBytes();

    @Override
    void close();
}
