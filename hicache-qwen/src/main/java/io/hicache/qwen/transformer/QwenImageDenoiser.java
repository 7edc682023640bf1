package io.hicache.qwen.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
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
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import java.util.List;
import java.util.Map;

/**
 * Qwen-Image bound to the core {@link DenoisingLoop} (docs/qwen-image.md §6): packs the initial noise
 * in 2×2 patches, builds the MSRoPE tables of each branch's [text; image] once per generation (the
 * two prompts may differ in length), takes the sigmas from the scheduler (Qwen's config has
 * {@code shift_terminal} 0.02, so the last non-zero sigma is 0.02), and runs the transformer per step
 * and branch. True CFG runs only with a negative prompt and a scale above 1 (diffusers' rule):
 * v = v_neg + s·(v_cond − v_neg), rescaled per token to ‖v_cond‖ over the packed channels. Each
 * branch has its own cache sites; both share the step schedule.
 *
 * <p>Qwen-Image-Edit adds a {@link Condition}: the packed latents of the condition image are
 * appended after the noise tokens at every forward, as image 1 of MSRoPE (frame position 1, its own
 * centred grid; the text starts past the larger of the two grids), and the velocity is the output
 * of the noise tokens only. The scheduler's shift follows the noise tokens alone, as diffusers'
 * {@code QwenImageEditPipeline} computes it from {@code latents.shape[1]}.
 */
public final class QwenImageDenoiser {
    private final QwenImageTransformer transformer;
    private final FlowMatchEuler scheduler;

    /** A denoiser over a loaded transformer (not owned: the caller closes it) and a scheduler. */
    public QwenImageDenoiser(QwenImageTransformer transformer, FlowMatchEuler scheduler) {
        this.transformer = transformer;
        this.scheduler = scheduler;
    }

    /** A prompt's encoder hidden states [B, L, joint_attention_dim] and its mask [B, L] (null: no padding). */
    public record Prompt(NDArray embeds, NDArray mask) {
        public Prompt(NDArray embeds) {
            this(embeds, null);
        }
    }

    /**
     * The condition image of Qwen-Image-Edit.
     *
     * @param tokens its packed, normalised VAE latents [B, rows·cols, in_channels], float32
     *     (the same for every step and branch)
     * @param grid its packed grid (one frame, H'/16 × W'/16)
     */
    public record Condition(NDArray tokens, MsRope.Grid grid) {}

    /**
     * What to denoise.
     *
     * @param prompt the positive prompt's text encoder states (after the template drop), any float dtype
     * @param noise initial latents, unpacked [B, 16, height/8, width/8], float32 (the frame axis of
     *     size 1 left out: with one frame the layout is the same)
     * @param width image width in pixels, a multiple of 16
     * @param height image height in pixels, a multiple of 16
     * @param steps number of denoising steps
     * @param cache cache parameters, or null to compute every step in full without any cache
     * @param measureForecastError also compute every module on forecast steps to record the error of
     *     the forecast that is used (full compute; for benchmarks and calibration)
     * @param negative the negative prompt's states (any length), or null for none
     * @param trueCfgScale true CFG scale s (diffusers' default 4.0); runs only with a negative prompt and s > 1
     * @param condition the condition image's tokens (Qwen-Image-Edit), or null for text-to-image
     */
    public record Request(Prompt prompt, NDArray noise, int width, int height, int steps, CacheConfig cache,
            boolean measureForecastError, Prompt negative, double trueCfgScale, Condition condition) {
        /** A text-to-image request. */
        public Request(Prompt prompt, NDArray noise, int width, int height, int steps, CacheConfig cache,
                boolean measureForecastError, Prompt negative, double trueCfgScale) {
            this(prompt, noise, width, height, steps, cache, measureForecastError, negative, trueCfgScale, null);
        }

        /** A request without true CFG that does not measure forecast errors. */
        public Request(Prompt prompt, NDArray noise, int width, int height, int steps, CacheConfig cache) {
            this(prompt, noise, width, height, steps, cache, false, null, 1);
        }
    }

    /**
     * The outcome of a generation.
     *
     * @param latents final unpacked latents [B, 16, height/8, width/8], float32, still normalised
     *     (the VAE decoder de-normalises with latents_mean / latents_std)
     * @param cache steps by kind, site evaluations and cache memory of both branches together
     * @param flops FLOPs the transformer executed over all steps and branches, by kind
     * @param steps per-step records in order
     * @param branches the guidance branches every step ran
     */
    public record Result(NDArray latents, CacheStats cache, Map<FlopCounter.Kind, Long> flops,
            List<DenoisingLoop.StepRecord> steps, List<String> branches) {}

    public QwenImageTransformer transformer() {
        return transformer;
    }

    /** The guidance of {@code scale}: true CFG with Qwen-Image's per-token rescale to the cond norm. */
    public static Guidance guidance(double trueCfgScale) {
        return new Guidance(trueCfgScale, true);
    }

    /** Runs the loop; the returned latents are attached to {@code manager}. */
    public Result denoise(Request r, NDManager manager) {
        QwenImageConfig c = transformer.config();
        long batch = validate(r, c);
        long latentH = r.height() / 8;
        long latentW = r.width() / 8;
        Guidance strategy = guidance(r.trueCfgScale());
        List<String> branches = strategy.branches(r.negative() != null);
        MsRope.Grid noiseGrid = MsRope.Grid.of((int) latentH / 2, (int) latentW / 2);
        List<MsRope.Grid> grids = r.condition() == null ? List.of(noiseGrid)
                : List.of(noiseGrid, r.condition().grid());
        float[] sigmas = scheduler.sigmas(r.steps(), (latentH / 2) * (latentW / 2));
        try (NDManager generation = manager.newSubManager()) {
            RotaryEmbedding condRope = transformer.rotaryEmbedding(r.prompt().embeds().getShape().get(1), grids,
                    generation);
            RotaryEmbedding negRope = branches.size() == 2
                    ? transformer.rotaryEmbedding(r.negative().embeds().getShape().get(1), grids, generation)
                    : null;
            Denoiser model = new Bound(r, condRope, negRope, (int) batch);
            DenoisingLoop.Result d = DenoisingLoop.runUnpacked(model, scheduler, r.noise(),
                    new DenoisingLoop.Plan(sigmas, branches, strategy, r.cache(), r.measureForecastError()), manager);
            NDArray out = d.latents();
            return new Result(out, d.cache(), d.flops(), d.steps(), d.branches());
        }
    }

    /** The transformer with one generation's prompts and RoPE tables bound. */
    private final class Bound implements Denoiser {
        private final Request request;
        private final RotaryEmbedding condRope;
        private final RotaryEmbedding negRope;
        private final int batch;

        Bound(Request request, RotaryEmbedding condRope, RotaryEmbedding negRope, int batch) {
            this.request = request;
            this.condRope = condRope;
            this.negRope = negRope;
            this.batch = batch;
        }

        @Override
        public NDArray velocity(NDArray latents, String branch, float timestep, CacheSession session, FlopCounter flops) {
            float[] t = DenoisingLoop.perSample(timestep, batch);
            boolean negative = SiteKey.UNCOND.equals(branch);
            Prompt p = negative ? request.negative() : request.prompt();
            RotaryEmbedding rope = negative ? negRope : condRope;
            Condition condition = request.condition();
            if (condition == null) {
                return transformer.forward(Precision.cast(latents, transformer.dtype()), p.embeds(), p.mask(), t, rope,
                        branch, session, flops);
            }
            // [noise; condition] joined in float32, then cast once; the output's first N rows are the noise's
            long noiseTokens = latents.getShape().get(1);
            NDArray joint = latents.concat(condition.tokens(), 1);
            NDArray out = transformer.forward(Precision.cast(joint, transformer.dtype()), p.embeds(), p.mask(), t,
                    rope, branch, session, flops);
            return out.get(new NDIndex(":, 0:" + noiseTokens));
        }

        @Override
        public void close() {
            // the RoPE tables belong to the generation's manager
        }
    }

    private static long validate(Request r, QwenImageConfig c) {
        if (r.prompt() == null) {
            throw new IllegalArgumentException("a prompt is needed");
        }
        long batch = DenoisingLoop.checkLatentRequest(r.steps(), r.width(), r.height(), r.noise(), c.latentChannels());
        checkPrompt(r.prompt(), batch, c, "prompt_embeds");
        if (r.negative() != null) {
            checkPrompt(r.negative(), batch, c, "negative_prompt_embeds");
        }
        if (r.condition() != null) {
            Shape s = r.condition().tokens().getShape();
            Shape expected = new Shape(batch, r.condition().grid().tokens(), c.inChannels());
            if (!s.equals(expected)) {
                throw new IllegalArgumentException("the condition image's tokens must be " + expected + " (batch of the"
                        + " noise, its grid " + r.condition().grid() + ", in_channels), got " + s);
            }
            if (Precision.typeOf(r.condition().tokens()) != TensorType.F32) {
                throw new IllegalArgumentException("the condition image's tokens must be float32, got "
                        + Precision.typeOf(r.condition().tokens()).displayName());
            }
        }
        return batch;
    }

    private static void checkPrompt(Prompt p, long batch, QwenImageConfig c, String what) {
        Shape s = p.embeds().getShape();
        if (s.dimension() != 3 || s.get(0) != batch || s.get(2) != c.jointAttentionDim() || s.get(1) < 1) {
            throw new IllegalArgumentException(what + " must be [" + batch + ", L, " + c.jointAttentionDim()
                    + "] (batch of the noise, the model's joint_attention_dim), got " + s);
        }
        if (p.mask() != null && !p.mask().getShape().equals(new Shape(batch, s.get(1)))) {
            throw new IllegalArgumentException(what + ": the mask must be [" + batch + ", " + s.get(1) + "], got "
                    + p.mask().getShape());
        }
    }
}
