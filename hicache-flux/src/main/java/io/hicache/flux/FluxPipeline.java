package io.hicache.flux;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.image.TensorImages;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.GenerationResult;
import io.hicache.core.pipeline.GenerationStats;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.PipelineSpec.Component;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.sampling.SeededNoise;
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

/**
 * FLUX.1 text-to-image on one device: prompt → T5-XXL + CLIP-L embeddings → flow-match denoising
 * of the transformer under a HiCache session → VAE decode → RGB image.
 *
 * <p>Only the components a {@link PipelineSpec} asks for are loaded: with precomputed embeddings
 * the text encoders are not needed, and for latent output the VAE is not. The text encoders can
 * also be released once all prompts are encoded. Not thread-safe: one pipeline per worker.
 */
public final class FluxPipeline implements ImagePipeline {
    private final NDManager manager;
    private final FluxModelFiles files;
    private final TensorType dtype;
    // set while loading, in this order; a load that fails part-way closes what it has set
    private FluxTransformer transformer;
    private FluxDenoiser denoiser;
    private VaeDecoder vae;
    private T5Tokenizer t5Tokenizer;
    private ClipTokenizer clipTokenizer;
    private T5Encoder t5;
    private ClipTextEncoder clip;
    private boolean closed;

    private FluxPipeline(NDManager manager, FluxModelFiles files, TensorType dtype) {
        this.manager = manager;
        this.files = files;
        this.dtype = dtype;
    }

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
            T5Tokenizer.load(files.t5TokenizerDir(), t5MaxLength(c)).close();
            ClipTokenizer.load(files.clipTokenizerDir()).close();
        }
    }

    /** Loads what {@code spec} asks for from a resolved model location, after {@link #check}. */
    public static FluxPipeline load(FluxModelFiles files, PipelineSpec spec) throws IOException {
        check(files, spec);
        return loadChecked(files, spec, null);
    }

    /**
     * Loads without the up-front check, into a new base manager or, for tests that make a load fail
     * at a chosen component and look for leftovers, a sub-manager of {@code parent}.
     */
    static FluxPipeline loadChecked(FluxModelFiles files, PipelineSpec spec, NDManager parent) throws IOException {
        NDManager manager = parent == null ? NDManager.newBaseManager(spec.device()) : parent.newSubManager(spec.device());
        FluxPipeline p = new FluxPipeline(manager, files, spec.dtype());
        try {
            if (spec.has(Component.TRANSFORMER)) {
                p.transformer = loadTransformer(files, spec.dtype(), manager);
                p.denoiser = new FluxDenoiser(p.transformer, FlowMatchEuler.read(files.schedulerConfig()));
            }
            if (spec.has(Component.VAE)) {
                p.vae = files.usesBflVae()
                        ? VaeDecoder.loadBfl(files.bflVae(), VaeConfig.flux1(), spec.dtype(), manager)
                        : VaeDecoder.load(files.vaeDir(), spec.dtype(), manager);
            }
            if (spec.has(Component.TEXT_ENCODERS)) {
                p.loadTextEncoders();
            }
            return p;
        } catch (IOException | RuntimeException | Error e) {
            try {
                p.close();
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

    /** FLUX.1-dev pads T5 to 512 tokens, schnell (no guidance embedding) to 256. */
    private static int t5MaxLength(FluxConfig c) {
        return c.guidanceEmbeds() ? T5Tokenizer.DEV_MAX_LENGTH : T5Tokenizer.SCHNELL_MAX_LENGTH;
    }

    private void loadTextEncoders() throws IOException {
        int maxLength = t5MaxLength(config());
        t5Tokenizer = T5Tokenizer.load(files.t5TokenizerDir(), maxLength);
        clipTokenizer = ClipTokenizer.load(files.clipTokenizerDir());
        t5 = T5Encoder.load(files.t5Dir(), dtype, manager);
        clip = ClipTextEncoder.load(files.clipDir(), dtype, manager);
    }

    /** The transformer config (read from disk when only the text encoders are loaded). */
    private FluxConfig config() throws IOException {
        return transformer != null ? transformer.config() : transformerConfig(files);
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the pipeline is closed");
        }
    }

    @Override
    public TextEmbeddings encode(String prompt) {
        requireOpen();
        if (t5 == null) {
            throw new IllegalStateException("text encoders are not loaded: pass precomputed embeddings");
        }
        try (NDManager scope = manager.newSubManager()) {
            NDArray t5Ids = t5Tokenizer.encode(List.of(prompt), scope);
            NDArray tokens = t5.encode(t5Ids);
            NDArray clipIds = clipTokenizer.encode(List.of(prompt), scope);
            try (ClipTextEncoder.Output out = clip.encode(clipIds)) {
                return new TextEmbeddings(HostTensor.of(tokens), HostTensor.of(out.pooled()));
            }
        }
    }

    @Override
    public GenerationResult generate(GenerationRequest r) {
        requireOpen();
        if (transformer == null) {
            throw new IllegalStateException("the transformer is not loaded: this pipeline only encodes prompts");
        }
        long start = System.nanoTime();
        TextEmbeddings embeddings = r.embeddings() != null ? r.embeddings() : encode(r.prompt());
        double encodeSeconds = (System.nanoTime() - start) / 1e9;
        FluxConfig c = transformer.config();
        checkEmbeddings(embeddings, c);
        try (NDManager scope = manager.newSubManager()) {
            Shape noiseShape = new Shape(1, c.latentChannels(), r.height() / 8, r.width() / 8);
            NDArray noise;
            if (r.initialNoise() != null) {
                if (!new Shape(r.initialNoise().shape()).equals(noiseShape)) {
                    throw new IllegalArgumentException("initial noise must be " + noiseShape + " for "
                            + r.width() + "x" + r.height() + ", got " + new Shape(r.initialNoise().shape()));
                }
                noise = r.initialNoise().toNDArray(scope);
            } else {
                noise = SeededNoise.gaussian(r.seed(), noiseShape, scope);
            }
            long denoiseStart = System.nanoTime();
            FluxDenoiser.Result d = denoiser.denoise(new FluxDenoiser.Request(
                    Precision.cast(embeddings.tokens().toNDArray(scope), dtype),
                    Precision.cast(embeddings.pooled().toNDArray(scope), dtype),
                    noise, r.width(), r.height(), r.steps(), r.guidance(), r.cache(), r.measureForecastError()), scope);
            double denoiseSeconds = (System.nanoTime() - denoiseStart) / 1e9;
            if (!Kernels.of(d.latents()).allFinite(d.latents())) {
                throw new IllegalStateException("the denoised latents contain NaN or infinite values");
            }
            long decodeStart = System.nanoTime();
            java.awt.image.BufferedImage image = null;
            if (r.decode()) {
                if (vae == null) {
                    throw new IllegalStateException("the VAE is not loaded: request latents only");
                }
                image = TensorImages.toImage(vae.decode(Precision.cast(d.latents(), dtype))).toBufferedImage();
            }
            double decodeSeconds = (System.nanoTime() - decodeStart) / 1e9;
            List<Double> stepSeconds = d.steps().stream().map(s -> s.nanos() / 1e9).toList();
            GenerationStats stats = new GenerationStats((System.nanoTime() - start) / 1e9, encodeSeconds,
                    denoiseSeconds, decodeSeconds, stepSeconds, d.cache(), d.flops());
            return new GenerationResult(image, HostTensor.of(d.latents()), stats);
        }
    }

    private static void checkEmbeddings(TextEmbeddings e, FluxConfig c) {
        HostTensor t = e.tokens();
        if (t.rank() != 3 || t.dim(0) != 1 || t.dim(2) != c.jointAttentionDim()) {
            throw new IllegalArgumentException("prompt embeddings must be [1, L, " + c.jointAttentionDim() + "], got "
                    + java.util.Arrays.toString(t.shape()));
        }
        HostTensor p = e.pooled();
        if (p == null || p.rank() != 2 || p.dim(0) != 1 || p.dim(1) != c.pooledProjectionDim()) {
            throw new IllegalArgumentException("pooled prompt embeddings must be [1, " + c.pooledProjectionDim()
                    + "], got " + (p == null ? "none" : java.util.Arrays.toString(p.shape())));
        }
    }

    /** Frees the text encoders (about 9.5 GB in bf16 for FLUX.1) once every prompt is encoded. */
    @Override
    public void releaseTextEncoders() {
        // each part is closed on its own: after a failed load any of them may be missing
        if (clip != null) {
            clip.close();
            clip = null;
        }
        if (t5 != null) {
            t5.close();
            t5 = null;
        }
        if (clipTokenizer != null) {
            clipTokenizer.close();
            clipTokenizer = null;
        }
        if (t5Tokenizer != null) {
            t5Tokenizer.close();
            t5Tokenizer = null;
        }
    }

    @Override
    public String describe() {
        if (closed) {
            return "FLUX.1 pipeline from " + files.root() + " (closed)";
        }
        if (transformer == null) {
            return "FLUX.1 text encoders (T5 + CLIP) from " + files.root() + ", " + dtype.displayName() + " on "
                    + manager.getDevice();
        }
        return String.format("FLUX.1 %s (%d double + %d single blocks, hidden %d) from %s, %s on %s",
                transformer.config().guidanceEmbeds() ? "dev-style" : "schnell-style", transformer.config().numLayers(),
                transformer.config().numSingleLayers(), transformer.config().hiddenSize(),
                files.bflTransformer() != null ? files.bflTransformer() : files.root(), dtype.displayName(),
                manager.getDevice());
    }

    @Override
    public long parameterBytes() {
        long b = transformer == null ? 0 : transformer.parameterBytes();
        b += vae == null ? 0 : vae.parameterBytes();
        b += t5 == null ? 0 : t5.parameterBytes() + clip.parameterBytes();
        return b;
    }

    /** Frees everything loaded so far; safe at any stage of a load and when called again. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            releaseTextEncoders();
            if (vae != null) {
                vae.close();
                vae = null;
            }
            if (transformer != null) {
                transformer.close();
                transformer = null;
                denoiser = null;
            }
        } finally {
            manager.close(); // owns every component's arrays: frees whatever a failed close above left
        }
    }
}
