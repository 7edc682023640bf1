package io.hicache.core.diffusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheSession;
import io.hicache.core.cache.CacheStats;
import io.hicache.core.cache.ForecastErrors;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.sampling.LatentPacking;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Flow-match Euler denoising of packed latents under one {@link CacheSession} per generation:
 * every step runs the denoiser once per guidance branch (each branch has its own cache sites, all
 * share the step schedule), combines the branch velocities and integrates one Euler step.
 *
 * <p>The running latents stay float32 between steps (the reference pipelines round them to the
 * model dtype after each step; keeping fp32 only removes rounding). Each step runs in its own
 * sub-manager, so nothing but the latents and the cache outlives a step.
 */
public final class DenoisingLoop {
    private DenoisingLoop() {}

    /** One denoising step: its sigma, whether it ran in full, and its wall time. */
    public record StepRecord(int step, float sigma, boolean full, long nanos) {
        public double millis() {
            return nanos / 1e6;
        }
    }

    /**
     * The outcome of a generation.
     *
     * @param latents the final packed latents [B, N, C], float32
     * @param cache steps by kind, site evaluations, memory and (when measured) forecast errors
     * @param flops FLOPs the transformer executed over all steps and branches, by kind
     * @param steps per-step records in order
     * @param branches the guidance branches every step ran
     */
    public record Result(NDArray latents, CacheStats cache, Map<FlopCounter.Kind, Long> flops, List<StepRecord> steps,
            List<String> branches) {}

    /**
     * A finished generation as a model hands it to the pipeline.
     *
     * @param latents the final unpacked latents, float32
     * @param backendMetrics measures particular to the backend (see {@code GenerationStats}), often empty
     */
    public record Outcome(NDArray latents, CacheStats cache, Map<FlopCounter.Kind, Long> flops, List<StepRecord> steps,
            Map<String, Double> backendMetrics) {
        /** An outcome without backend measures. */
        public Outcome(NDArray latents, CacheStats cache, Map<FlopCounter.Kind, Long> flops, List<StepRecord> steps) {
            this(latents, cache, flops, steps, Map.of());
        }
    }

    /**
     * What to run.
     *
     * @param sigmas the sampler's steps + 1 sigmas (last 0)
     * @param cache cache parameters; null computes every step in full
     * @param measureForecastError also compute every site on forecast steps and record the error of
     *     the forecast that is used (full compute; for benchmarks and calibration)
     */
    public record Plan(float[] sigmas, List<String> branches, Guidance guidance, CacheConfig cache,
            boolean measureForecastError) {
        public int steps() {
            return sigmas.length - 1;
        }
    }

    /**
     * Checks what every latent-space request shares: at least one step, a size in multiples of 16
     * (8× VAE latents packed in 2×2 patches), and float32 initial noise [B, channels, H/8, W/8].
     *
     * @return the batch size B
     */
    public static long checkLatentRequest(int steps, int width, int height, NDArray noise, long channels) {
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        if (width <= 0 || height <= 0 || width % 16 != 0 || height % 16 != 0) {
            throw new IllegalArgumentException("width and height must be positive multiples of 16 (the 8× VAE latent is "
                    + "packed in 2×2 patches), got " + width + "×" + height);
        }
        Shape shape = noise.getShape();
        long batch = shape.dimension() == 4 ? shape.get(0) : -1;
        if (!shape.equals(new Shape(batch, channels, height / 8, width / 8))) {
            throw new IllegalArgumentException("initial noise must be [B, " + channels + ", " + height / 8 + ", "
                    + width / 8 + "] for " + width + "×" + height + ", got " + shape);
        }
        TensorType type = Precision.typeOf(noise);
        if (type != TensorType.F32) {
            throw new IllegalArgumentException("initial noise must be float32, got " + type.displayName());
        }
        return batch;
    }

    /**
     * Packs the unpacked initial {@code noise} [B, C, h, w] in 2×2 patches, runs the loop and
     * unpacks the result: the returned latents are [B, C, h, w] float32 in {@code manager}.
     */
    public static Result runUnpacked(Denoiser model, FlowMatchEuler scheduler, NDArray noise, Plan plan,
            NDManager manager) {
        long h = noise.getShape().get(2);
        long w = noise.getShape().get(3);
        try (NDManager generation = manager.newSubManager()) {
            NDArray packed;
            try (NDManager scope = generation.newSubManager()) {
                scope.tempAttachAll(noise);
                packed = LatentPacking.pack(noise);
                packed.attach(generation);
            }
            Result d = run(model, scheduler, packed, plan, generation);
            NDArray out = LatentPacking.unpack(d.latents(), h, w);
            out.attach(manager);
            return new Result(out, d.cache(), d.flops(), d.steps(), d.branches());
        }
    }

    /** One timestep for each of {@code batch} samples. */
    public static float[] perSample(float timestep, int batch) {
        float[] t = new float[batch];
        java.util.Arrays.fill(t, timestep);
        return t;
    }

    /** Denoises {@code noise} (packed, float32); the returned latents are attached to {@code manager}. */
    public static Result run(Denoiser model, FlowMatchEuler scheduler, NDArray noise, Plan plan, NDManager manager) {
        int steps = plan.steps();
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        boolean cfg = plan.branches().size() == 2;
        ForecastErrors errors = plan.measureForecastError() ? new ForecastErrors() : null;
        FlopCounter flops = new FlopCounter();
        List<StepRecord> records = new ArrayList<>(steps);
        try (NDManager generation = manager.newSubManager();
                CacheSession session = plan.cache() == null ? CacheSession.none(steps, generation)
                        : CacheSession.open(plan.cache(), steps, generation, errors)) {
            NDArray latents = noise.duplicate();
            latents.attach(generation);
            float[] sigmas = plan.sigmas();
            for (int i = 0; i < steps; i++) {
                long start = System.nanoTime();
                session.beginStep(i);
                float timestep = scheduler.modelTimestep(sigmas[i]);
                NDArray next;
                try (NDManager step = generation.newSubManager()) {
                    step.tempAttachAll(latents);
                    NDArray velocity = model.velocity(latents, SiteKey.COND, timestep, session, flops);
                    if (cfg) {
                        NDArray negative = model.velocity(latents, SiteKey.UNCOND, timestep, session, flops);
                        velocity = plan.guidance().combine(velocity, negative);
                    }
                    next = FlowMatchEuler.step(latents, velocity, sigmas[i], sigmas[i + 1]);
                    next.attach(generation);
                }
                latents.close();
                latents = next;
                records.add(new StepRecord(i, sigmas[i], session.isFullStep(), System.nanoTime() - start));
            }
            CacheStats stats = errors == null ? session.stats() : session.stats().withForecastErrors(errors);
            latents.attach(manager);
            return new Result(latents, stats, flops.snapshot(), List.copyOf(records), plan.branches());
        }
    }
}
