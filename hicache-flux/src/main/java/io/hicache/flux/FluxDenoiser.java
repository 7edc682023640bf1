package io.hicache.flux;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheSession;
import io.hicache.core.cache.CacheStats;
import io.hicache.core.cache.SiteKey;
import io.hicache.core.diffusion.Denoiser;
import io.hicache.core.diffusion.DenoisingLoop;
import io.hicache.core.diffusion.Guidance;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.runtime.Precision;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.sampling.LatentPacking;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * FLUX bound to the core {@link DenoisingLoop}: packs the initial noise in 2×2 patches, builds the
 * RoPE tables of [text; image] once per generation, and runs the transformer per step and guidance
 * branch. FLUX.1-dev's distilled guidance is the model's input (embedded scale); true classifier-free
 * guidance (diffusers' {@code true_cfg_scale} with a negative prompt) runs a second, {@code uncond}
 * branch with its own cache sites and v = v_neg + s·(v_cond − v_neg).
 */
public final class FluxDenoiser {
    private final FluxTransformer transformer;
    private final FlowMatchEuler scheduler;
    private final StatefulKernels kernels;

    /** A denoiser over a loaded transformer (not owned: the caller closes it) and a scheduler. */
    public FluxDenoiser(FluxTransformer transformer, FlowMatchEuler scheduler) {
        this(transformer, scheduler, null);
    }

    /**
     * A denoiser whose transformer runs {@code kernels} (null: the transformer's own) with their
     * state reset for every generation; the image tokens run in the order the kernels ask for.
     */
    public FluxDenoiser(FluxTransformer transformer, FlowMatchEuler scheduler, StatefulKernels kernels) {
        this.transformer = kernels == null ? transformer : transformer.withKernels(kernels.attention(), kernels.mlp());
        this.scheduler = scheduler;
        this.kernels = kernels;
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
     * @param negative the negative prompt's embeddings (same shapes), or null for none
     * @param trueCfgScale true CFG scale s; it runs only with a negative prompt and s > 1
     */
    public record Request(NDArray promptEmbeds, NDArray pooledPromptEmbeds, NDArray noise, int width, int height,
            int steps, double guidance, CacheConfig cache, boolean measureForecastError, Negative negative,
            double trueCfgScale) {
        /** A request without true CFG. */
        public Request(NDArray promptEmbeds, NDArray pooledPromptEmbeds, NDArray noise, int width, int height,
                int steps, double guidance, CacheConfig cache, boolean measureForecastError) {
            this(promptEmbeds, pooledPromptEmbeds, noise, width, height, steps, guidance, cache, measureForecastError,
                    null, 1);
        }

        /** A request without true CFG that does not measure forecast errors. */
        public Request(NDArray promptEmbeds, NDArray pooledPromptEmbeds, NDArray noise, int width, int height,
                int steps, double guidance, CacheConfig cache) {
            this(promptEmbeds, pooledPromptEmbeds, noise, width, height, steps, guidance, cache, false);
        }
    }

    /** The negative prompt's T5 and pooled CLIP embeddings, shaped as the positive ones. */
    public record Negative(NDArray promptEmbeds, NDArray pooledPromptEmbeds) {}

    /**
     * The outcome of a generation.
     *
     * @param latents final unpacked latents [B, C, height/8, width/8], float32, before VAE scaling
     * @param cache steps by kind, site evaluations and cache memory (bytes held at the end, peak);
     *     without a cache every step is full and no memory is held
     * @param flops FLOPs the transformer executed over all steps, by kind
     * @param steps per-step records in order
     * @param metrics the stateful kernels' measures of this generation, and {@code block_flop_fraction}:
     *     the block matrix products executed over those of every step in full; empty without kernels
     */
    public record Result(NDArray latents, CacheStats cache, Map<FlopCounter.Kind, Long> flops,
            List<DenoisingLoop.StepRecord> steps, Map<String, Double> metrics) {}

    /** Runs the loop; the returned latents are attached to {@code manager}. */
    public Result denoise(Request r, NDManager manager) {
        FluxConfig c = transformer.config();
        long batch = validate(r, c);
        long latentH = r.height() / 8;
        long latentW = r.width() / 8;
        float[] guidance = null;
        if (c.guidanceEmbeds()) {
            guidance = new float[(int) batch];
            Arrays.fill(guidance, (float) r.guidance());
        }
        Guidance strategy = new Guidance(r.trueCfgScale(), false);
        List<String> branches = strategy.branches(r.negative() != null);
        float[] sigmas = scheduler.sigmas(r.steps(), (latentH / 2) * (latentW / 2));
        DenoisingLoop.Plan plan = new DenoisingLoop.Plan(sigmas, branches, strategy, r.cache(), r.measureForecastError());
        try (NDManager generation = manager.newSubManager()) {
            int[] order = kernels == null ? null
                    : kernels.begin((int) latentH / 2, (int) latentW / 2, r.steps(), generation);
            try {
                NDArray imageIds = FluxPositions.imageIds(latentH, latentW, generation);
                if (order != null) {
                    imageIds = imageIds.gather(tokenIndex(order, imageIds.getShape().get(1), generation), 0);
                }
                RotaryEmbedding rope = transformer.rotaryEmbedding(
                        FluxPositions.textIds(r.promptEmbeds().getShape().get(1), generation), imageIds, generation);
                Bound model = new Bound(r, guidance, rope, (int) batch);
                DenoisingLoop.Result d = order == null
                        ? DenoisingLoop.runUnpacked(model, scheduler, r.noise(), plan, manager)
                        : runReordered(model, r.noise(), plan, order, generation, manager);
                Map<String, Double> metrics = Map.of();
                if (kernels != null) {
                    metrics = new java.util.LinkedHashMap<>(kernels.end());
                    FlopCounter dense = FluxTransformer.flopsPerForward(c, (latentH / 2) * (latentW / 2),
                            r.promptEmbeds().getShape().get(1));
                    double all = (double) r.steps() * branches.size() * batch * blockFlops(dense.snapshot());
                    metrics.put("block_flop_fraction", blockFlops(d.flops()) / all);
                }
                return new Result(d.latents(), d.cache(), d.flops(), d.steps(), metrics);
            } finally {
                if (kernels != null) {
                    kernels.end();
                }
            }
        }
    }

    /**
     * The loop over packed tokens permuted to {@code order} (position p holds token order[p]),
     * permuted back before unpacking; the sampler's update is per token, so only the model sees the
     * order.
     */
    private DenoisingLoop.Result runReordered(Bound model, NDArray noise, DenoisingLoop.Plan plan, int[] order,
            NDManager generation, NDManager manager) {
        long h = noise.getShape().get(2);
        long w = noise.getShape().get(3);
        NDArray packed = LatentPacking.pack(noise);
        packed.attach(generation);
        long channels = packed.getShape().get(2);
        NDArray permuted = packed.gather(tokenIndex(order, channels, generation).expandDims(0)
                .broadcast(packed.getShape()), 1);
        DenoisingLoop.Result d = DenoisingLoop.run(model, scheduler, permuted, plan, generation);
        int[] inverse = new int[order.length];
        for (int p = 0; p < order.length; p++) {
            inverse[order[p]] = p;
        }
        NDArray natural = d.latents().gather(tokenIndex(inverse, channels, generation).expandDims(0)
                .broadcast(d.latents().getShape()), 1);
        NDArray out = LatentPacking.unpack(natural, h, w);
        out.attach(manager);
        return new DenoisingLoop.Result(out, d.cache(), d.flops(), d.steps(), d.branches());
    }

    /** The FLOPs of the blocks' matrix products (projections, attention core, MLPs; not embeddings or modulation). */
    private static double blockFlops(Map<FlopCounter.Kind, Long> flops) {
        return flops.get(FlopCounter.Kind.ATTENTION_PROJECTIONS) + flops.get(FlopCounter.Kind.ATTENTION_SCORES)
                + flops.get(FlopCounter.Kind.MLP);
    }

    /** int64 [N, width]: row p is order[p] repeated, the index of a gather of rows. */
    private static NDArray tokenIndex(int[] order, long width, NDManager manager) {
        long[] idx = new long[order.length];
        for (int p = 0; p < order.length; p++) {
            idx[p] = order[p];
        }
        return manager.create(idx).reshape(order.length, 1).broadcast(new Shape(order.length, width));
    }

    /** The transformer with one generation's conditioning, guidance and RoPE tables bound. */
    private final class Bound implements Denoiser {
        private final Request request;
        private final float[] guidance;
        private final RotaryEmbedding rope;
        private final int batch;

        Bound(Request request, float[] guidance, RotaryEmbedding rope, int batch) {
            this.request = request;
            this.guidance = guidance;
            this.rope = rope;
            this.batch = batch;
        }

        @Override
        public NDArray velocity(NDArray latents, String branch, float timestep, CacheSession session, FlopCounter flops) {
            if (kernels != null) {
                kernels.beforeForward(session.step());
            }
            float[] t = DenoisingLoop.perSample(timestep, batch);
            boolean negative = SiteKey.UNCOND.equals(branch);
            NDArray embeds = negative ? request.negative().promptEmbeds() : request.promptEmbeds();
            NDArray pooled = negative ? request.negative().pooledPromptEmbeds() : request.pooledPromptEmbeds();
            return transformer.forward(Precision.cast(latents, transformer.dtype()), embeds, pooled, t, guidance, rope,
                    branch, session, flops);
        }

        @Override
        public void close() {
            // the RoPE tables belong to the generation's manager
        }
    }

    private static long validate(Request r, FluxConfig c) {
        long batch = DenoisingLoop.checkLatentRequest(r.steps(), r.width(), r.height(), r.noise(), c.latentChannels());
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
        if (r.negative() != null) {
            if (!r.negative().promptEmbeds().getShape().equals(embeds)
                    || !r.negative().pooledPromptEmbeds().getShape().equals(pooled)) {
                throw new IllegalArgumentException("negative prompt embeddings must be shaped as the positive ones ("
                        + embeds + ", " + pooled + "), got " + r.negative().promptEmbeds().getShape() + ", "
                        + r.negative().pooledPromptEmbeds().getShape());
            }
        }
        if (c.guidanceEmbeds() && !Double.isFinite(r.guidance())) {
            throw new IllegalArgumentException("guidance must be finite, got " + r.guidance());
        }
        return batch;
    }
}
