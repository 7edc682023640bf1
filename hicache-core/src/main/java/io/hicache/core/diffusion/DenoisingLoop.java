package io.hicache.core.diffusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheSession;
import io.hicache.core.cache.CacheStats;
import io.hicache.core.cache.ForecastErrors;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.sampling.FlowMatchEuler;
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
     */
    public record Outcome(NDArray latents, CacheStats cache, Map<FlopCounter.Kind, Long> flops, List<StepRecord> steps) {}

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
