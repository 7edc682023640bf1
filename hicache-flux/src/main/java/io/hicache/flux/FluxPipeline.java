package io.hicache.flux;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.diffusion.Conditioning;
import io.hicache.core.diffusion.DenoisingLoop;
import io.hicache.core.diffusion.DiffusionPipeline;
import io.hicache.core.diffusion.TransformerModel;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.PipelineSpec.Component;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import io.hicache.flux.text.ClipTextConfig;
import io.hicache.flux.text.ClipTextEncoder;
import io.hicache.flux.text.ClipTokenizer;
import io.hicache.flux.text.T5Config;
import io.hicache.flux.text.T5Encoder;
import io.hicache.flux.text.T5Tokenizer;
import io.hicache.flux.vae.VaeConfig;
import io.hicache.flux.vae.VaeDecoder;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.function.Supplier;

/**
 * FLUX.1 text-to-image on one device, assembled on the core {@link DiffusionPipeline}: T5-XXL +
 * CLIP-L as its prompt encoder, the transformer bound to the denoising loop by {@link FluxDenoiser},
 * and the VAE decoder. This class only knows where FLUX's parts are and how they fit.
 *
 * <p>Only the components a {@link PipelineSpec} asks for are loaded: with precomputed embeddings
 * the text encoders are not needed, and for latent output the VAE is not. The text encoders can
 * also be released once all prompts are encoded. Not thread-safe: one pipeline per worker.
 */
public final class FluxPipeline {
    private FluxPipeline() {}

    /**
     * Checks everything {@code spec} needs that can be checked without reading tensor data: the
     * files are there, every config parses and is within bounds, every checkpoint's tensor names and
     * shapes (from the safetensors headers and index) match its config, the components agree with
     * each other, the scheduler config is usable, the tokenizers load, and the device exists.
     *
     * @throws InvalidModelException when a file is wrong (loading it could never succeed)
     */
    public static void check(FluxModelFiles files, PipelineSpec spec) throws IOException {
        List<String> missing = files.missing(spec.components());
        if (!missing.isEmpty()) {
            throw new java.nio.file.NoSuchFileException(files.root().toString(), null,
                    "incomplete FLUX model, missing " + String.join(", ", missing) + "; " + FluxModelFiles.HOW_TO_GET);
        }
        HiCacheRuntime.requireAvailable(spec.device());
        FluxConfig transformer = null;
        if (spec.has(Component.TRANSFORMER)) {
            transformer = transformerConfig(files);
            FluxConfig c = transformer;
            withTransformerWeights(files, c, weights -> {
                FluxTransformer.check(weights, c);
                return null;
            });
            FlowMatchEuler.read(files.schedulerConfig());
        }
        if (spec.has(Component.VAE)) {
            VaeConfig vae;
            if (files.usesBflVae()) {
                vae = VaeConfig.flux1();
                VaeDecoder.checkBfl(files.bflVae(), vae);
            } else {
                vae = VaeDecoder.check(files.vaeDir());
            }
            if (transformer != null && vae.latentChannels != transformer.latentChannels()) {
                throw new InvalidModelException(files.vaeDir() + ": the VAE has " + vae.latentChannels
                        + " latent channels, but the transformer's in_channels " + transformer.inChannels()
                        + " packs " + transformer.latentChannels());
            }
        }
        if (spec.has(Component.TEXT_ENCODERS)) {
            FluxConfig c = transformer != null ? transformer : transformerConfig(files);
            T5Config t5 = T5Encoder.check(files.t5Dir());
            ClipTextConfig clip = ClipTextEncoder.check(files.clipDir());
            if (t5.dModel != c.jointAttentionDim()) {
                throw new InvalidModelException(files.t5Dir() + ": T5 d_model " + t5.dModel
                        + " differs from the transformer's joint_attention_dim " + c.jointAttentionDim());
            }
            if (clip.hiddenSize != c.pooledProjectionDim()) {
                throw new InvalidModelException(files.clipDir() + ": CLIP hidden_size " + clip.hiddenSize
                        + " differs from the transformer's pooled_projection_dim " + c.pooledProjectionDim());
            }
            T5Tokenizer.load(files.t5TokenizerDir(), t5MaxLength(c, files)).close();
            ClipTokenizer.load(files.clipTokenizerDir()).close();
        }
    }

    /** Loads what {@code spec} asks for from a resolved model location, after {@link #check}. */
    public static DiffusionPipeline load(FluxModelFiles files, PipelineSpec spec) throws IOException {
        return load(files, spec, null);
    }

    /**
     * As {@link #load}, with the transformer running the stateful kernels {@code kernels} makes
     * (one instance for this pipeline; null: the dense ones): how a sparse FLUX backend reuses
     * everything else of this pipeline.
     */
    public static DiffusionPipeline load(FluxModelFiles files, PipelineSpec spec, Supplier<StatefulKernels> kernels)
            throws IOException {
        check(files, spec);
        return loadChecked(files, spec, null, kernels);
    }

    /**
     * Loads without the up-front check, into a new base manager or, for tests that make a load fail
     * at a chosen component and look for leftovers, a sub-manager of {@code parent}. A load that
     * fails part-way closes what it has loaded.
     */
    static DiffusionPipeline loadChecked(FluxModelFiles files, PipelineSpec spec, NDManager parent) throws IOException {
        return loadChecked(files, spec, parent, null);
    }

    private static DiffusionPipeline loadChecked(FluxModelFiles files, PipelineSpec spec, NDManager parent,
            Supplier<StatefulKernels> kernels) throws IOException {
        NDManager manager = parent == null ? NDManager.newBaseManager(spec.device()) : parent.newSubManager(spec.device());
        TensorType dtype = spec.dtype();
        Transformer transformer = null;
        Vae vae = null;
        TextEncoders encoders = null;
        try {
            if (spec.has(Component.TRANSFORMER)) {
                FluxTransformer t = loadTransformer(files, dtype, manager);
                transformer = new Transformer(t, FlowMatchEuler.read(files.schedulerConfig()),
                        kernels == null ? null : kernels.get());
            }
            if (spec.has(Component.VAE)) {
                vae = new Vae(files.usesBflVae()
                        ? VaeDecoder.loadBfl(files.bflVae(), VaeConfig.flux1(), dtype, manager)
                        : VaeDecoder.load(files.vaeDir(), dtype, manager));
            }
            if (spec.has(Component.TEXT_ENCODERS)) {
                FluxConfig c = transformer != null ? transformer.model.config() : transformerConfig(files);
                encoders = TextEncoders.load(files, t5MaxLength(c, files), dtype, manager);
            }
            Transformer loaded = transformer;
            return new DiffusionPipeline(manager, dtype, encoders, transformer, vae,
                    () -> describe(files, loaded == null ? null : loaded.model, dtype, manager));
        } catch (IOException | RuntimeException | Error e) {
            try {
                DiffusionPipeline.closeAll(java.util.Arrays.asList(encoders, vae, transformer), manager::close);
            } catch (RuntimeException | Error closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
    }

    /** The transformer config: transformer/config.json, or for a BFL file without one the preset its tensors match. */
    static FluxConfig transformerConfig(FluxModelFiles files) throws IOException {
        if (files.bflTransformer() == null || Files.isRegularFile(files.transformerDir().resolve("config.json"))) {
            return FluxConfig.read(files.transformerDir().resolve("config.json"));
        }
        try (BflCheckpoint probe = BflCheckpoint.open(files.bflTransformer(), FluxConfig.dev())) {
            return probe.names().contains("time_text_embed.guidance_embedder.linear_1.weight")
                    ? FluxConfig.dev() : FluxConfig.schnell();
        }
    }

    /** Something done with the transformer checkpoint while it is open. */
    private interface WithWeights<T> {
        T apply(WeightSource weights) throws IOException;
    }

    /** Runs {@code action} on the transformer checkpoint with diffusers names (opened from its headers). */
    private static <T> T withTransformerWeights(FluxModelFiles files, FluxConfig config, WithWeights<T> action)
            throws IOException {
        if (files.bflTransformer() == null) {
            try (WeightStore weights = WeightStore.open(files.transformerDir())) {
                return action.apply(weights);
            }
        }
        try (BflCheckpoint weights = BflCheckpoint.open(files.bflTransformer(), config)) {
            return action.apply(weights);
        }
    }

    private static FluxTransformer loadTransformer(FluxModelFiles files, TensorType dtype, NDManager manager)
            throws IOException {
        FluxConfig config = transformerConfig(files);
        return withTransformerWeights(files, config, weights -> FluxTransformer.load(weights, config, dtype, manager));
    }

    /**
     * FLUX.1-dev pads T5 to 512 tokens, schnell (no guidance embedding) to 256; never beyond the
     * tokenizer's model_max_length (512 in both repositories), which a smaller model sets lower.
     */
    private static int t5MaxLength(FluxConfig c, FluxModelFiles files) throws IOException {
        int pipeline = c.guidanceEmbeds() ? T5Tokenizer.DEV_MAX_LENGTH : T5Tokenizer.SCHNELL_MAX_LENGTH;
        return Math.min(pipeline, T5Tokenizer.modelMaxLength(files.t5TokenizerDir()));
    }

    private static String describe(FluxModelFiles files, FluxTransformer transformer, TensorType dtype,
            NDManager manager) {
        if (transformer == null) {
            return "FLUX.1 text encoders (T5 + CLIP) from " + files.root() + ", " + dtype.displayName() + " on "
                    + manager.getDevice();
        }
        FluxConfig c = transformer.config();
        return String.format("FLUX.1 %s (%d double + %d single blocks, hidden %d) from %s, %s on %s",
                c.guidanceEmbeds() ? "dev-style" : "schnell-style", c.numLayers(), c.numSingleLayers(), c.hiddenSize(),
                files.bflTransformer() != null ? files.bflTransformer() : files.root(), dtype.displayName(),
                manager.getDevice());
    }

    /** T5-XXL token embeddings and CLIP-L's pooled vector of a prompt. */
    private static final class TextEncoders implements DiffusionPipeline.PromptEncoder {
        private final NDManager manager;
        // set in this order; a load that fails part-way closes what is set
        private T5Tokenizer t5Tokenizer;
        private ClipTokenizer clipTokenizer;
        private T5Encoder t5;
        private ClipTextEncoder clip;

        private TextEncoders(NDManager manager) {
            this.manager = manager;
        }

        static TextEncoders load(FluxModelFiles files, int t5MaxLength, TensorType dtype, NDManager manager)
                throws IOException {
            TextEncoders e = new TextEncoders(manager);
            try {
                e.t5Tokenizer = T5Tokenizer.load(files.t5TokenizerDir(), t5MaxLength);
                e.clipTokenizer = ClipTokenizer.load(files.clipTokenizerDir());
                e.t5 = T5Encoder.load(files.t5Dir(), dtype, manager);
                e.clip = ClipTextEncoder.load(files.clipDir(), dtype, manager);
                return e;
            } catch (IOException | RuntimeException | Error failure) {
                try {
                    e.close();
                } catch (RuntimeException | Error closing) {
                    failure.addSuppressed(closing);
                }
                throw failure;
            }
        }

        @Override
        public TextEmbeddings encode(String prompt) {
            try (NDManager scope = manager.newSubManager()) {
                NDArray tokens = t5.encode(t5Tokenizer.encode(List.of(prompt), scope));
                try (ClipTextEncoder.Output out = clip.encode(clipTokenizer.encode(List.of(prompt), scope))) {
                    return new TextEmbeddings(HostTensor.of(tokens), HostTensor.of(out.pooled()));
                }
            }
        }

        @Override
        public long parameterBytes() {
            return (t5 == null ? 0 : t5.parameterBytes()) + (clip == null ? 0 : clip.parameterBytes());
        }

        /** Frees T5 and CLIP (about 9.5 GB in bf16 for FLUX.1); each part on its own, as any may be missing. */
        @Override
        public void close() {
            DiffusionPipeline.closeAll(java.util.Arrays.asList(clip, t5, clipTokenizer, t5Tokenizer), () -> { });
            clip = null;
            t5 = null;
            clipTokenizer = null;
            t5Tokenizer = null;
        }
    }

    /** The transformer as the skeleton uses it: latents of 16 channels at 1/8 size, T5 + pooled CLIP conditioning. */
    private static final class Transformer implements DiffusionPipeline.Transformer {
        final FluxTransformer model;
        private final FluxDenoiser denoiser;

        Transformer(FluxTransformer model, FlowMatchEuler scheduler, StatefulKernels kernels) {
            this.model = model;
            this.denoiser = new FluxDenoiser(model, scheduler, kernels);
        }

        @Override
        public Shape latentShape(int width, int height) {
            return new Shape(1, model.config().latentChannels(), height / 8, width / 8);
        }

        @Override
        public void checkEmbeddings(TextEmbeddings e, String what) {
            FluxConfig c = model.config();
            HostTensor t = e.tokens();
            if (t.rank() != 3 || t.dim(0) != 1 || t.dim(2) != c.jointAttentionDim()) {
                throw new IllegalArgumentException(what + " must be [1, L, " + c.jointAttentionDim() + "], got "
                        + java.util.Arrays.toString(t.shape()));
            }
            HostTensor p = e.pooled();
            if (p == null || p.rank() != 2 || p.dim(0) != 1 || p.dim(1) != c.pooledProjectionDim()) {
                throw new IllegalArgumentException("pooled " + what + " must be [1, " + c.pooledProjectionDim()
                        + "], got " + (p == null ? "none" : java.util.Arrays.toString(p.shape())));
            }
        }

        @Override
        public DenoisingLoop.Outcome denoise(Conditioning c, NDArray noise, TransformerModel.Sampling s,
                NDManager scope) {
            FluxDenoiser.Negative negative = c.hasNegative()
                    ? new FluxDenoiser.Negative(c.negative().tokens(), c.negative().pooled()) : null;
            FluxDenoiser.Result d = denoiser.denoise(new FluxDenoiser.Request(c.positive().tokens(),
                    c.positive().pooled(), noise, s.width(), s.height(), s.steps(), s.guidance(), s.cache(),
                    s.measureForecastError(), negative, s.trueCfgScale()), scope);
            return new DenoisingLoop.Outcome(d.latents(), d.cache(), d.flops(), d.steps(), d.metrics());
        }

        @Override
        public long parameterBytes() {
            return model.parameterBytes();
        }

        @Override
        public void close() {
            model.close();
        }
    }

    private record Vae(VaeDecoder decoder) implements DiffusionPipeline.LatentDecoder {
        @Override
        public NDArray decode(NDArray latents) {
            return decoder.decode(latents);
        }

        @Override
        public long parameterBytes() {
            return decoder.parameterBytes();
        }

        @Override
        public void close() {
            decoder.close();
        }
    }
}
