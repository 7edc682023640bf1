package io.hicache.qwen;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.diffusion.Conditioning;
import io.hicache.core.diffusion.DenoisingLoop;
import io.hicache.core.diffusion.DiffusionPipeline;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.PipelineSpec.Component;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.util.ConfigJson;
import io.hicache.core.weights.WeightStore;
import io.hicache.qwen.text.Qwen2Tokenizer;
import io.hicache.qwen.text.QwenPromptBatch;
import io.hicache.qwen.text.QwenPromptEncoder;
import io.hicache.qwen.text.QwenPromptTemplate;
import io.hicache.qwen.text.QwenTextConfig;
import io.hicache.qwen.text.QwenTextEncoder;
import io.hicache.qwen.transformer.QwenImageConfig;
import io.hicache.qwen.transformer.QwenImageDenoiser;
import io.hicache.qwen.transformer.QwenImageTransformer;
import io.hicache.qwen.vae.QwenVaeConfig;
import io.hicache.qwen.vae.QwenVaeDecoder;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.Arrays;
import java.util.List;

/**
 * Qwen-Image text-to-image on the core {@link DiffusionPipeline} skeleton: the Qwen2.5-VL prompt
 * encoder (T2I template, 34 tokens dropped, at most 512 kept), the Qwen-Image transformer under the
 * flow-match loop with true CFG rescaled to the conditional norm, and the one-frame VAE decoder.
 * Only the components a {@link PipelineSpec} asks for are loaded; the prompt encoder (16.6 GB in
 * bf16 for the real model) can be released once every prompt is encoded.
 */
public final class QwenImagePipelines {
    /** {@code _class_name} of the text-to-image repository's {@code model_index.json}. */
    public static final String PIPELINE_CLASS = "QwenImagePipeline";

    private QwenImagePipelines() {}

    /**
     * Checks everything {@code spec} needs without reading tensor data: the files are there, every
     * config is valid, every checkpoint's tensor names and shapes (headers and indexes) match its
     * config, the components agree with each other, the scheduler config is usable, the tokenizer
     * loads and gives the template's 34-token prefix, and the device exists.
     *
     * @throws InvalidModelException when a file is wrong (loading it could never succeed)
     * @throws NoSuchFileException naming everything missing and how to get it
     */
    public static void check(QwenModelFiles files, PipelineSpec spec) throws IOException {
        List<String> missing = files.missing(spec.components());
        if (!missing.isEmpty()) {
            throw new NoSuchFileException(files.root().toString(), null,
                    "incomplete Qwen-Image model, missing " + String.join(", ", missing) + "; " + QwenModelFiles.HOW_TO_GET);
        }
        checkComponents(files, spec, PIPELINE_CLASS, "a Qwen-Image text-to-image model",
                QwenPromptTemplate.TEXT_TO_IMAGE);
    }

    /**
     * The checks both Qwen pipelines share, once every file is known to be there: the device, the
     * model index's pipeline class, and every component {@code spec} asks for, the tokenizer against
     * {@code template}.
     */
    static void checkComponents(QwenModelFiles files, PipelineSpec spec, String expectedClass, String what,
            QwenPromptTemplate template) throws IOException {
        HiCacheRuntime.requireAvailable(spec.device());
        String pipelineClass = ConfigJson.read(files.modelIndex()).getString("_class_name", null);
        if (!expectedClass.equals(pipelineClass)) {
            throw new InvalidModelException(files.modelIndex() + ": _class_name is " + pipelineClass + ", not "
                    + expectedClass + ": not " + what);
        }
        QwenImageConfig transformer = transformerConfig(files);
        if (spec.has(Component.TRANSFORMER)) {
            try (WeightStore weights = WeightStore.open(files.transformerDir())) {
                QwenImageTransformer.check(weights, transformer);
            }
            FlowMatchEuler.read(files.schedulerConfig());
        }
        if (spec.has(Component.VAE)) {
            QwenVaeConfig vae = QwenVaeDecoder.check(files.vaeDir());
            if (vae.zDim != transformer.latentChannels()) {
                throw new InvalidModelException(files.vaeDir() + ": the VAE has z_dim " + vae.zDim
                        + " latent channels, but the transformer's out_channels give " + transformer.latentChannels());
            }
        }
        if (spec.has(Component.TEXT_ENCODERS)) {
            QwenTextConfig text = QwenTextEncoder.check(files.textEncoderDir());
            if (text.hiddenSize() != transformer.jointAttentionDim()) {
                throw new InvalidModelException(files.textEncoderDir() + ": the text encoder's hidden_size "
                        + text.hiddenSize() + " differs from the transformer's joint_attention_dim "
                        + transformer.jointAttentionDim());
            }
            try (Qwen2Tokenizer tokenizer = Qwen2Tokenizer.load(files.tokenizerDir())) {
                QwenPromptEncoder.checkTemplate(tokenizer, template);
            }
        }
    }

    /** {@code transformer/config.json}. */
    public static QwenImageConfig transformerConfig(QwenModelFiles files) throws IOException {
        return QwenImageConfig.read(files.transformerDir().resolve("config.json"));
    }

    /** Checks, then loads what {@code spec} asks for; on failure nothing stays loaded. */
    public static DiffusionPipeline load(QwenModelFiles files, PipelineSpec spec) throws IOException {
        check(files, spec);
        TensorType dtype = spec.dtype();
        NDManager manager = NDManager.newBaseManager(spec.device());
        Part transformer = null;
        Decoder vae = null;
        Encoder encoder = null;
        try {
            if (spec.has(Component.TRANSFORMER)) {
                QwenImageTransformer t = QwenImageTransformer.load(files.transformerDir(), dtype, manager);
                transformer = new Part(t, FlowMatchEuler.read(files.schedulerConfig()));
            }
            if (spec.has(Component.VAE)) {
                vae = new Decoder(QwenVaeDecoder.load(files.vaeDir(), dtype, manager));
            }
            if (spec.has(Component.TEXT_ENCODERS)) {
                encoder = new Encoder(QwenPromptEncoder.load(files.root(), dtype, manager,
                        QwenPromptBatch.DEFAULT_MAX_SEQUENCE_LENGTH), manager);
            }
        } catch (IOException | RuntimeException | Error e) {
            try {
                DiffusionPipeline.closeAll(Arrays.asList(encoder, vae, transformer), manager::close);
            } catch (RuntimeException | Error closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
        QwenImageConfig c = transformerConfig(files);
        boolean hasTransformer = transformer != null;
        String description = String.format("Qwen-Image (%d blocks, %d heads x %d, text width %d) from %s, %s on %s",
                c.numLayers(), c.numAttentionHeads(), c.attentionHeadDim(), c.jointAttentionDim(), files.root(),
                dtype.displayName(), manager.getDevice()) + (hasTransformer ? "" : ", text encoder only");
        return new DiffusionPipeline(manager, dtype, encoder, transformer, vae, () -> description);
    }

    /** Checks one prompt's conditioning against a transformer of {@code c}: [1, L, joint_attention_dim], no pooled vector. */
    static void checkEmbeddings(TextEmbeddings e, QwenImageConfig c, String what) {
        HostTensor t = e.tokens();
        if (t.rank() != 3 || t.dim(0) != 1 || t.dim(1) < 1 || t.dim(2) != c.jointAttentionDim()) {
            throw new IllegalArgumentException(what + " must be [1, L, " + c.jointAttentionDim() + "], got "
                    + Arrays.toString(t.shape()));
        }
        if (e.pooled() != null) {
            throw new IllegalArgumentException(what + ": Qwen-Image takes no pooled embeddings, got "
                    + Arrays.toString(e.pooled().shape()));
        }
    }

    /**
     * The transformer and its scheduler as the skeleton's denoising side; the Edit pipeline's part
     * adds its condition tokens through {@link #condition()}.
     */
    static class Part implements DiffusionPipeline.Transformer {
        final QwenImageTransformer transformer;
        private final QwenImageDenoiser denoiser;

        Part(QwenImageTransformer transformer, FlowMatchEuler scheduler) {
            this.transformer = transformer;
            this.denoiser = new QwenImageDenoiser(transformer, scheduler);
        }

        @Override
        public Shape latentShape(int width, int height) {
            return new Shape(1, transformer.config().latentChannels(), height / 8, width / 8);
        }

        @Override
        public void checkEmbeddings(TextEmbeddings embeddings, String what) {
            QwenImagePipelines.checkEmbeddings(embeddings, transformer.config(), what);
        }

        /** Qwen-Image has no guidance embedding: {@code sampling.guidance()} is not used. */
        @Override
        public DenoisingLoop.Outcome denoise(Conditioning conditioning, NDArray noise, Sampling sampling,
                NDManager manager) {
            QwenImageDenoiser.Request request = new QwenImageDenoiser.Request(prompt(conditioning.positive()), noise,
                    sampling.width(), sampling.height(), sampling.steps(), sampling.cache(),
                    sampling.measureForecastError(),
                    conditioning.hasNegative() ? prompt(conditioning.negative()) : null, sampling.trueCfgScale(),
                    condition());
            QwenImageDenoiser.Result r = denoiser.denoise(request, manager);
            return new DenoisingLoop.Outcome(r.latents(), r.cache(), r.flops(), r.steps());
        }

        /** Tokens the transformer sees after the noise tokens (an edit's condition image); none for text-to-image. */
        QwenImageDenoiser.Condition condition() {
            return null;
        }

        private static QwenImageDenoiser.Prompt prompt(Conditioning.Branch b) {
            return new QwenImageDenoiser.Prompt(b.tokens(), b.mask());
        }

        @Override
        public long parameterBytes() {
            return transformer.parameterBytes();
        }

        @Override
        public void close() {
            transformer.close();
        }
    }

    /** The one-frame VAE decoder as the pipeline's latent decoder (text-to-image and Edit alike). */
    static final class Decoder implements DiffusionPipeline.LatentDecoder {
        private final QwenVaeDecoder vae;

        Decoder(QwenVaeDecoder vae) {
            this.vae = vae;
        }

        @Override
        public NDArray decode(NDArray latents) {
            return vae.decode(latents);
        }

        @Override
        public long parameterBytes() {
            return vae.parameterBytes();
        }

        @Override
        public void close() {
            vae.close();
        }
    }

    private static final class Encoder implements DiffusionPipeline.PromptEncoder {
        private final QwenPromptEncoder encoder;
        private final NDManager manager;

        Encoder(QwenPromptEncoder encoder, NDManager manager) {
            this.encoder = encoder;
            this.manager = manager;
        }

        @Override
        public TextEmbeddings encode(String prompt) {
            return encoder.encode(prompt, manager);
        }

        @Override
        public long parameterBytes() {
            return encoder.parameterBytes();
        }

        @Override
        public void close() {
            encoder.close();
        }
    }
}
