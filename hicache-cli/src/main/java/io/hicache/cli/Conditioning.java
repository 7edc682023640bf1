package io.hicache.cli;

import io.hicache.core.pipeline.TextEmbeddings;

/** Where a worker gets the text conditioning of a job. */
interface Conditioning extends AutoCloseable {
    /** Each worker's pipeline encodes its prompts itself. */
    Conditioning BY_WORKER = job -> null;

    /** The job's embeddings, or null when the worker's pipeline should encode the prompt itself. */
    TextEmbeddings forJob(Job job) throws Exception;

    /**
     * The negative prompt's embeddings for the job, or null when the worker's pipeline should encode
     * the negative prompt itself (or there is none).
     */
    default TextEmbeddings negativeForJob(Job job) throws Exception {
        return null;
    }

    /** Called once per job a worker ran, whatever its outcome. */
    default void finished(Job job) {}

    @Override
    default void close() {}
}
