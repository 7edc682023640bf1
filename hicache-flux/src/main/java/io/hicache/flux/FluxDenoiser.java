package io.hicache.flux;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheSession;
import io.hicache.core.cache.CacheStats;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.sampling.LatentPacking;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The FLUX denoising loop: packs the initial noise, runs the transformer once per step (guidance
 * distilled: no classifier-free second pass) under one {@link CacheSession} per generation, and
 * integrates the flow with Euler steps on the scheduler's sigmas.
 *
 * <p>The running latents stay float32 between steps (the reference pipelines round them to the
 * model dtype after each step; keeping fp32 only removes rounding). Each step runs in its own
 * sub-manager, so nothing but the latents and the cache outlives a step.
 */
public final class FluxDenoiser {
    private final FluxTransformer transformer;
    private final FlowMatchEuler scheduler;

    /** A denoiser over a loaded transformer (not owned: the caller closes it) and a scheduler. */
    public FluxDenoiser(FluxTransformer transformer, FlowMatchEuler scheduler) {
        this.transformer = transformer;
        this.scheduler = scheduler;
    }

    /**
     * What to denoise.
     *
     * @param promptEmbeds T5 embeddings [B, L, joint_attention_dim], any float dtype
     * @param pooledPromptEmbeds pooled CLIP embeddings [B, pooled_projection_dim]
     * @param noise initial latents, unpacked [B, latent channels, height/8, width/8], float32
     * @param width image width in pixels, a multiple of 16
     * @param height image height in pixels, a multiple of 16
     * @param steps number of denoising steps
     * @param guidance distilled guidance scale; used only when the model embeds guidance
     * @param cache cache parameters, or null to compute every step in full without any cache
     * @param measureForecastError also compute every module on forecast steps to record the error of
     *     the forecast that is used (costs full compute; for benchmarks and calibration)
     */
    public record Request(NDArray promptEmbeds, NDArray pooledPromptEmbeds, NDArray noise, int width, int height,
            int steps, double guidance, CacheConfig cache, boolean measureForecastError) {
        /** A request that does not measure forecast errors. */
        public Request(NDArray promptEmbeds, NDArray pooledPromptEmbeds, NDArray noise, int width, int height,
                int steps, double guidance, CacheConfig cache) {
            this(promptEmbeds, pooledPromptEmbeds, noise, width, height, steps, guidance, cache, false);
        }
    }

    /** One denoising step: its sigma, whether the transformer ran in full, and its wall time. */
    public record StepRecord(int step, float sigma, boolean full, long nanos) {
        public double millis() {
            return nanos / 1e6;
        }
    }

    /**
     * The outcome of a generation.
     *
     * @param latents final unpacked latents [B, C, height/8, width/8], float32, before VAE scaling
     * @param cache steps by kind, site evaluations and cache memory (bytes held at the end, peak);
     *     without a cache every step is full and no memory is held
     * @param flops FLOPs the transformer executed over all steps, by kind
     * @param steps per-step records in order
     */
    public record Result(NDArray latents, CacheStats cache, Map<FlopCounter.Kind, Long> flops, List<StepRecord> steps) {}

    /** Runs the loop; the returned latents are attached to {@code manager}. */
    public Result denoise(Request r, NDManager manager) {
        FluxConfig c = transformer.config();
        long batch = validate(r, c);
        long latentH = r.height() / 8;
        long latentW = r.width() / 8;
        long textTokens = r.promptEmbeds().getShape().get(1);
        float[] sigmas = scheduler.sigmas(r.steps(), (latentH / 2) * (latentW / 2));
        float[] guidance = null;
        if (c.guidanceEmbeds()) {
            guidance = new float[(int) batch];
            Arrays.fill(guidance, (float) r.guidance());
        }
        List<StepRecord> records = new ArrayList<>(r.steps());
        try (NDManager generation = manager.newSubManager();
                CacheSession session = r.cache() == null ? null
                        : r.measureForecastError() ? CacheSession.openMeasuringErrors(r.cache(), r.steps(), generation)
                        : CacheSession.open(r.cache(), r.steps(), generation)) {
            FlopCounter flops = session == null ? new FlopCounter() : session.flops();
            RotaryEmbedding rope = transformer.rotaryEmbedding(
                    LatentPacking.textIds(textTokens, generation), LatentPacking.imageIds(latentH, latentW, generation),
                    generation);
            NDArray latents;
            try (NDManager scope = generation.newSubManager()) {
                scope.tempAttachAll(r.noise());
                latents = LatentPacking.pack(r.noise());
                latents.attach(generation);
            }
            for (int i = 0; i < r.steps(); i++) {
                long start = System.nanoTime();
                if (session != null) {
                    session.beginStep(i);
                }
                float[] timestep = new float[(int) batch];
                Arrays.fill(timestep, scheduler.modelTimestep(sigmas[i]));
                NDArray next;
                try (NDManager step = generation.newSubManager()) {
                    step.tempAttachAll(latents);
                    NDArray velocity = transformer.forward(Precision.cast(latents, transformer.dtype()), r.promptEmbeds(),
                            r.pooledPromptEmbeds(), timestep, guidance, rope, session, flops);
                    next = FlowMatchEuler.step(latents, velocity, sigmas[i], sigmas[i + 1]);
                    next.attach(generation);
                }
                latents.close();
                latents = next;
                records.add(new StepRecord(i, sigmas[i], session == null || session.isFullStep(),
                        System.nanoTime() - start));
            }
            CacheStats stats = session != null ? session.stats()
                    : new CacheStats(r.steps(), r.steps(), 0,
                            (long) r.steps() * (4L * c.numLayers() + c.numSingleLayers()), 0, 0, 0, Map.of(), Map.of());
            NDArray out = LatentPacking.unpack(latents, latentH, latentW);
            out.attach(manager);
            return new Result(out, stats, flops.snapshot(), List.copyOf(records));
        }
    }

    private static long validate(Request r, FluxConfig c) {
        if (r.steps() < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + r.steps());
        }
        if (r.width() <= 0 || r.height() <= 0 || r.width() % 16 != 0 || r.height() % 16 != 0) {
            throw new IllegalArgumentException("width and height must be positive multiples of 16 (the 8× VAE latent is "
                    + "packed in 2×2 patches), got " + r.width() + "×" + r.height());
        }
        Shape noise = r.noise().getShape();
        long batch = noise.dimension() == 4 ? noise.get(0) : -1;
        Shape expected = new Shape(batch, c.latentChannels(), r.height() / 8, r.width() / 8);
        if (!noise.equals(expected)) {
            throw new IllegalArgumentException("initial noise must be [B, " + c.latentChannels() + ", " + r.height() / 8
                    + ", " + r.width() / 8 + "] for " + r.width() + "×" + r.height() + ", got " + noise);
        }
        TensorType type = Precision.typeOf(r.noise());
        if (type != TensorType.F32) {
            throw new IllegalArgumentException("initial noise must be float32, got " + type.displayName());
        }
        Shape embeds = r.promptEmbeds().getShape();
        if (embeds.dimension() != 3 || embeds.get(0) != batch || embeds.get(2) != c.jointAttentionDim() || embeds.get(1) < 1) {
            throw new IllegalArgumentException("prompt_embeds must be [" + batch + ", L, " + c.jointAttentionDim()
                    + "] (batch of the noise, the model's joint_attention_dim), got " + embeds);
        }
        Shape pooled = r.pooledPromptEmbeds().getShape();
        if (!pooled.equals(new Shape(batch, c.pooledProjectionDim()))) {
            throw new IllegalArgumentException("pooled_prompt_embeds must be [" + batch + ", " + c.pooledProjectionDim()
                    + "], got " + pooled);
        }
        if (c.guidanceEmbeds() && !Double.isFinite(r.guidance())) {
            throw new IllegalArgumentException("guidance must be finite, got " + r.guidance());
        }
        return batch;
    }
}
