package io.hicache.core.diffusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.image.TensorImages;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.GenerationResult;
import io.hicache.core.pipeline.GenerationStats;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.SeededNoise;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * The text-to-image skeleton every backend shares: prompt → text conditioning (both branches for
 * true CFG) → initial noise (seeded or given) → the model's denoising loop → finite check → VAE
 * decode → image, latents and statistics. A backend supplies the parts ({@link PromptEncoder},
 * {@link TransformerModel}, {@link LatentDecoder}); which are present depends on what a run needs.
 *
 * <p>Closing is safe at every stage: each part is closed once, in reverse order of loading, and a
 * failure to close one does not keep the others open. Not thread-safe: one pipeline per worker.
 */
public final class DiffusionPipeline implements ImagePipeline {
    /** Text → conditioning of one prompt, on the host. */
    public interface PromptEncoder extends AutoCloseable {
        TextEmbeddings encode(String prompt) throws Exception;

        long parameterBytes();

        @Override
        void close();
    }

    /** Latents → RGB in [−1, 1], float32 [B, 3, H, W]. */
    public interface LatentDecoder extends AutoCloseable {
        NDArray decode(NDArray latents);

        long parameterBytes();

        @Override
        void close();
    }

    /** The transformer side: the model plus what frees its weights. */
    public interface Transformer extends TransformerModel, AutoCloseable {
        long parameterBytes();

        @Override
        void close();
    }

    private final NDManager manager;
    private final TensorType dtype;
    private final Transformer transformer;
    private final LatentDecoder vae;
    private final Supplier<String> description;
    private PromptEncoder encoder;
    private boolean closed;

    /**
     * A pipeline over loaded parts; any may be null when a run does not need it. The pipeline owns
     * the parts and {@code manager} and closes them.
     */
    public DiffusionPipeline(NDManager manager, TensorType dtype, PromptEncoder encoder, Transformer transformer,
            LatentDecoder vae, Supplier<String> description) {
        this.manager = manager;
        this.dtype = dtype;
        this.encoder = encoder;
        this.transformer = transformer;
        this.vae = vae;
        this.description = description;
    }

    @Override
    public TextEmbeddings encode(String prompt) throws Exception {
        ensureOpen();
        if (encoder == null) {
            throw new IllegalStateException("text encoders are not loaded: pass precomputed embeddings");
        }
        return encoder.encode(prompt);
    }

    @Override
    public GenerationResult generate(GenerationRequest r) throws Exception {
        ensureOpen();
        if (transformer == null) {
            throw new IllegalStateException("the transformer is not loaded: this pipeline only encodes prompts");
        }
        if (r.decode() && vae == null) {
            throw new IllegalStateException("the VAE is not loaded: request latents only");
        }
        if (!r.images().isEmpty()) {
            throw new IllegalArgumentException("this is a text-to-image pipeline: it takes no condition image, got "
                    + r.images().size());
        }
        long start = System.nanoTime();
        TextEmbeddings positive = r.embeddings() != null ? r.embeddings() : encode(r.prompt());
        TextEmbeddings negative = null;
        if (r.trueCfgScale() > 1 && r.hasNegative()) {
            negative = r.negativeEmbeddings() != null ? r.negativeEmbeddings() : encode(r.negativePrompt());
        }
        double encodeSeconds = (System.nanoTime() - start) / 1e9;
        transformer.checkEmbeddings(positive, "prompt embeddings");
        if (negative != null) {
            transformer.checkEmbeddings(negative, "negative prompt embeddings");
        }
        try (NDManager scope = manager.newSubManager()) {
            Shape latentShape = transformer.latentShape(r.width(), r.height());
            NDArray noise;
            if (r.initialNoise() != null) {
                Shape given = new Shape(r.initialNoise().shape());
                if (!given.equals(latentShape)) {
                    throw new IllegalArgumentException("initial noise must be " + latentShape + " for " + r.width() + "x"
                            + r.height() + ", got " + given);
                }
                noise = r.initialNoise().toNDArray(scope);
            } else {
                noise = SeededNoise.gaussian(r.seed(), latentShape, scope);
            }
            Conditioning conditioning = new Conditioning(branch(positive, scope),
                    negative == null ? null : branch(negative, scope));
            long denoiseStart = System.nanoTime();
            DenoisingLoop.Outcome d = transformer.denoise(conditioning, noise,
                    new TransformerModel.Sampling(r.width(), r.height(), r.steps(), r.guidance(), r.trueCfgScale(),
                            r.cache(), r.measureForecastError()), scope);
            double denoiseSeconds = (System.nanoTime() - denoiseStart) / 1e9;
            if (!Kernels.of(d.latents()).allFinite(d.latents())) {
                throw new NonFiniteLatentsException();
            }
            long decodeStart = System.nanoTime();
            BufferedImage image = null;
            if (r.decode()) {
                image = TensorImages.toImage(vae.decode(Precision.cast(d.latents(), dtype))).toBufferedImage();
            }
            double decodeSeconds = (System.nanoTime() - decodeStart) / 1e9;
            List<Double> stepSeconds = d.steps().stream().map(s -> s.nanos() / 1e9).toList();
            GenerationStats stats = new GenerationStats((System.nanoTime() - start) / 1e9, encodeSeconds,
                    denoiseSeconds, decodeSeconds, stepSeconds, d.cache(), d.flops(), d.backendMetrics());
            return new GenerationResult(image, HostTensor.of(d.latents()), stats);
        }
    }

    private Conditioning.Branch branch(TextEmbeddings e, NDManager scope) {
        return new Conditioning.Branch(Precision.cast(e.tokens().toNDArray(scope), dtype),
                e.pooled() == null ? null : Precision.cast(e.pooled().toNDArray(scope), dtype), null);
    }

    /** Frees the text encoders once every prompt is encoded. */
    @Override
    public void releaseTextEncoders() {
        if (encoder != null) {
            PromptEncoder e = encoder;
            encoder = null;
            e.close();
        }
    }

    @Override
    public String describe() {
        return description.get();
    }

    @Override
    public long parameterBytes() {
        long b = transformer == null ? 0 : transformer.parameterBytes();
        b += vae == null ? 0 : vae.parameterBytes();
        b += encoder == null ? 0 : encoder.parameterBytes();
        return b;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the pipeline is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeAll(Arrays.asList(encoder, vae, transformer), manager::close);
        encoder = null;
    }

    /**
     * Closes every non-null part, in order, then runs {@code last}, even when some of them throw;
     * the first failure is rethrown with the others suppressed.
     */
    public static void closeAll(List<? extends AutoCloseable> parts, Runnable last) {
        List<Throwable> failures = new ArrayList<>();
        for (AutoCloseable part : parts) {
            if (part != null) {
                try {
                    part.close();
                } catch (Throwable t) {
                    failures.add(t);
                }
            }
        }
        try {
            last.run();
        } catch (Throwable t) {
            failures.add(t);
        }
        if (!failures.isEmpty()) {
            RuntimeException e = failures.get(0) instanceof RuntimeException re ? re
                    : new IllegalStateException("closing the pipeline failed", failures.get(0));
            failures.subList(1, failures.size()).forEach(e::addSuppressed);
            throw e;
        }
    }
}
