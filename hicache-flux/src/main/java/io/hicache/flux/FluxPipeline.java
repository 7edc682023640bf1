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
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.PipelineSpec.Component;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.sampling.SeededNoise;
import io.hicache.flux.text.ClipTextEncoder;
import io.hicache.flux.text.ClipTokenizer;
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
    private final FluxTransformer transformer;
    private final FluxDenoiser denoiser;
    private final VaeDecoder vae;
    private T5Tokenizer t5Tokenizer;
    private ClipTokenizer clipTokenizer;
    private T5Encoder t5;
    private ClipTextEncoder clip;

    private FluxPipeline(NDManager manager, FluxModelFiles files, TensorType dtype, FluxTransformer transformer,
            FlowMatchEuler scheduler, VaeDecoder vae) {
        this.manager = manager;
        this.files = files;
        this.dtype = dtype;
        this.transformer = transformer;
        this.denoiser = transformer == null ? null : new FluxDenoiser(transformer, scheduler);
        this.vae = vae;
    }

    /** Loads what {@code spec} asks for from a resolved model location. */
    public static FluxPipeline load(FluxModelFiles files, PipelineSpec spec) throws IOException {
        List<String> missing = files.missing(spec.components());
        if (!missing.isEmpty()) {
            throw new java.nio.file.NoSuchFileException(files.root().toString(), null,
                    "incomplete FLUX model, missing " + String.join(", ", missing) + "; " + FluxModelFiles.HOW_TO_GET);
        }
        NDManager manager = NDManager.newBaseManager(spec.device());
        FluxPipeline p = null;
        try {
            FluxTransformer transformer = null;
            FlowMatchEuler scheduler = null;
            if (spec.has(Component.TRANSFORMER)) {
                transformer = loadTransformer(files, spec.dtype(), manager);
                scheduler = FlowMatchEuler.read(files.schedulerConfig());
            }
            VaeDecoder vae = null;
            if (spec.has(Component.VAE)) {
                vae = files.usesBflVae()
                        ? VaeDecoder.loadBfl(files.bflVae(), VaeConfig.flux1(), spec.dtype(), manager)
                        : VaeDecoder.load(files.vaeDir(), spec.dtype(), manager);
            }
            p = new FluxPipeline(manager, files, spec.dtype(), transformer, scheduler, vae);
            if (spec.has(Component.TEXT_ENCODERS)) {
                p.loadTextEncoders();
            }
            return p;
        } catch (IOException | RuntimeException e) {
            if (p != null) {
                p.close();
            } else {
                manager.close();
            }
            throw e;
        }
    }

    private static FluxTransformer loadTransformer(FluxModelFiles files, TensorType dtype, NDManager manager)
            throws IOException {
        if (files.bflTransformer() == null) {
            return FluxTransformer.load(files.root(), dtype, manager);
        }
        // a BFL file: the config next to it when present, else the FLUX.1 preset its tensors match
        FluxConfig config;
        if (Files.isRegularFile(files.transformerDir().resolve("config.json"))) {
            config = FluxConfig.read(files.transformerDir().resolve("config.json"));
        } else {
            try (BflCheckpoint probe = BflCheckpoint.open(files.bflTransformer(), FluxConfig.dev())) {
                config = probe.names().contains("time_text_embed.guidance_embedder.linear_1.weight")
                        ? FluxConfig.dev() : FluxConfig.schnell();
            }
        }
        try (BflCheckpoint weights = BflCheckpoint.open(files.bflTransformer(), config)) {
            return FluxTransformer.load(weights, config, dtype, manager);
        }
    }

    private void loadTextEncoders() throws IOException {
        // FLUX.1-dev pads T5 to 512 tokens, schnell (no guidance embedding) to 256
        int maxLength = config().guidanceEmbeds() ? T5Tokenizer.DEV_MAX_LENGTH : T5Tokenizer.SCHNELL_MAX_LENGTH;
        t5Tokenizer = T5Tokenizer.load(files.t5TokenizerDir(), maxLength);
        clipTokenizer = ClipTokenizer.load(files.clipTokenizerDir());
        t5 = T5Encoder.load(files.t5Dir(), dtype, manager);
        clip = ClipTextEncoder.load(files.clipDir(), dtype, manager);
    }

    /** The transformer config (read from disk when only the text encoders are loaded). */
    private FluxConfig config() throws IOException {
        return transformer != null ? transformer.config() : transformerConfig(files);
    }

    /** The transformer config of {@code files}: its config.json, else (a BFL file alone) FLUX.1-dev's sizes. */
    static FluxConfig transformerConfig(FluxModelFiles files) throws IOException {
        return Files.isRegularFile(files.transformerDir().resolve("config.json"))
                ? FluxConfig.read(files.transformerDir().resolve("config.json")) : FluxConfig.dev();
    }

    @Override
    public TextEmbeddings encode(String prompt) {
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
        if (t5 != null) {
            t5.close();
            clip.close();
            t5Tokenizer.close();
            clipTokenizer.close();
            t5 = null;
            clip = null;
            t5Tokenizer = null;
            clipTokenizer = null;
        }
    }

    @Override
    public String describe() {
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

    @Override
    public void close() {
        releaseTextEncoders();
        if (vae != null) {
            vae.close();
        }
        if (transformer != null) {
            transformer.close();
        }
        manager.close();
    }
}
