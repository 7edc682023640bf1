package io.hicache.qwen;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.diffusion.DiffusionPipeline;
import io.hicache.core.image.RgbImage;
import io.hicache.core.image.Resampling;
import io.hicache.core.image.TensorImages;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.GenerationResult;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.PipelineSpec.Component;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.FlowMatchEuler;
import io.hicache.core.util.ConfigJson;
import io.hicache.qwen.text.QwenPromptBatch;
import io.hicache.qwen.text.QwenPromptEncoder;
import io.hicache.qwen.text.QwenPromptTemplate;
import io.hicache.qwen.text.QwenTextConfig;
import io.hicache.qwen.transformer.MsRope;
import io.hicache.qwen.transformer.QwenImageConfig;
import io.hicache.qwen.transformer.QwenImageDenoiser;
import io.hicache.qwen.transformer.QwenImageTransformer;
import io.hicache.qwen.vae.QwenVaeConfig;
import io.hicache.qwen.vae.QwenVaeDecoder;
import io.hicache.qwen.vae.QwenVaeEncoder;
import io.hicache.qwen.vision.EditSizes;
import io.hicache.qwen.vision.QwenVisionConfig;
import io.hicache.qwen.vision.QwenVisionProcessor;
import io.hicache.qwen.vision.QwenVisionTower;
import io.hicache.qwen.vision.VisionPreprocessorConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.util.Arrays;
import java.util.List;

/**
 * Qwen-Image-Edit (diffusers' {@code QwenImageEditPipeline}, model-architectures §4.1) on the core
 * {@link DiffusionPipeline} skeleton. Per request, the one condition image is resized (Pillow's
 * LANCZOS) to {@code calculate_dimensions(editArea, width / height)}; that image goes
 * <ul>
 *   <li>through the Qwen2-VL processor and the vision tower, whose features take the place of the
 *       Edit template's vision tokens when the prompt (and the negative prompt) is encoded;
 *   <li>through the VAE encoder: its normalised mean, packed 2×2, is appended after the noise
 *       tokens at every transformer forward as MSRoPE image 1; the velocity is the noise tokens'.
 * </ul>
 * Steps, HiCache sites and true CFG are Qwen-Image's. The vision features are made once per
 * request, when the first prompt is encoded, and the condition tokens when denoising starts; both
 * are freed when the request ends.
 */
public final class QwenImageEditPipelines {
    /** {@code _class_name} of the {@code Qwen/Qwen-Image-Edit} repository's {@code model_index.json}. */
    public static final String PIPELINE_CLASS = "QwenImageEditPipeline";

    private static final String PROMPT_NEEDS_IMAGE = "Qwen-Image-Edit encodes a prompt together with its condition "
            + "image: generate with the image in the request (a prompt alone cannot be encoded)";

    private QwenImageEditPipelines() {}

    /**
     * The checks of {@link QwenImagePipelines#check} for the Edit layout, plus: the processor
     * config is valid and its patch geometry is the vision tower's, the vision tower's tensors match
     * its config and its output width is the language model's, the VAE encoder's tensors are there
     * (for the transformer, which needs the condition tokens), and the tokenizer's vision tokens are
     * single added tokens.
     *
     * @throws InvalidModelException when a file is wrong
     * @throws NoSuchFileException naming everything missing and how to get it
     */
    public static void check(QwenModelFiles files, PipelineSpec spec) throws IOException {
        // a Qwen-Image (text-to-image) folder lacks processor/: say what it is rather than what it lacks
        if (Files.isRegularFile(files.modelIndex())) {
            String pipelineClass = ConfigJson.read(files.modelIndex()).getString("_class_name", null);
            if (!PIPELINE_CLASS.equals(pipelineClass)) {
                throw new InvalidModelException(files.modelIndex() + ": _class_name is " + pipelineClass + ", not "
                        + PIPELINE_CLASS + ": not a Qwen-Image-Edit model"
                        + (QwenImagePipelines.PIPELINE_CLASS.equals(pipelineClass)
                                ? " (it is Qwen-Image, which the qwen-image backend runs)" : ""));
            }
        }
        List<String> missing = files.missingForEdit(spec.components());
        if (!missing.isEmpty()) {
            throw new NoSuchFileException(files.root().toString(), null, "incomplete Qwen-Image-Edit model, missing "
                    + String.join(", ", missing) + "; " + QwenModelFiles.HOW_TO_GET_EDIT);
        }
        QwenImagePipelines.checkComponents(files, spec, PIPELINE_CLASS, "a Qwen-Image-Edit model",
                QwenPromptTemplate.EDIT);
        QwenImageConfig transformer = QwenImagePipelines.transformerConfig(files);
        if (spec.has(Component.TEXT_ENCODERS)) {
            QwenTextConfig text = QwenTextConfig.read(files.textEncoderDir());
            QwenVisionConfig vision = QwenVisionTower.check(files.textEncoderDir());
            if (vision.outHiddenSize() != text.hiddenSize()) {
                throw new InvalidModelException(files.textEncoderDir() + ": the vision tower's out_hidden_size "
                        + vision.outHiddenSize() + " differs from the language model's hidden_size " + text.hiddenSize());
            }
            VisionPreprocessorConfig processor = VisionPreprocessorConfig.read(files.processorDir());
            if (processor.patchSize() != vision.patchSize() || processor.mergeSize() != vision.spatialMergeSize()
                    || processor.temporalPatchSize() != vision.temporalPatchSize()) {
                throw new InvalidModelException(files.processorDir() + ": the processor's patch_size "
                        + processor.patchSize() + ", merge_size " + processor.mergeSize() + ", temporal_patch_size "
                        + processor.temporalPatchSize() + " differ from the vision tower's " + vision.patchSize() + ", "
                        + vision.spatialMergeSize() + ", " + vision.temporalPatchSize());
            }
        }
        if (spec.has(Component.TRANSFORMER)) {
            QwenVaeConfig vae = QwenVaeEncoder.check(files.vaeDir());
            if (4 * vae.zDim != transformer.inChannels()) {
                throw new InvalidModelException(files.vaeDir() + ": the VAE's z_dim " + vae.zDim + " packs into "
                        + 4 * vae.zDim + " channels, but the transformer's in_channels are " + transformer.inChannels());
            }
        }
    }

    /**
     * Checks, then loads what {@code spec} asks for; on failure nothing stays loaded.
     *
     * @param editArea the pixel area the condition image is resized to (diffusers: 1024²)
     */
    public static ImagePipeline load(QwenModelFiles files, PipelineSpec spec, long editArea) throws IOException {
        check(files, spec);
        TensorType dtype = spec.dtype();
        NDManager manager = NDManager.newBaseManager(spec.device());
        CurrentImage current = new CurrentImage(manager);
        Part transformer = null;
        QwenImagePipelines.Decoder vae = null;
        Encoder encoder = null;
        try {
            if (spec.has(Component.TRANSFORMER)) {
                QwenImageTransformer t = QwenImageTransformer.load(files.transformerDir(), dtype, manager);
                transformer = new Part(t, FlowMatchEuler.read(files.schedulerConfig()), current);
                transformer.vaeEncoder = QwenVaeEncoder.load(files.vaeDir(), dtype, manager);
            }
            if (spec.has(Component.VAE)) {
                vae = new QwenImagePipelines.Decoder(QwenVaeDecoder.load(files.vaeDir(), dtype, manager));
            }
            if (spec.has(Component.TEXT_ENCODERS)) {
                encoder = new Encoder(current, new QwenVisionProcessor(VisionPreprocessorConfig.read(files.processorDir())));
                encoder.prompts = QwenPromptEncoder.load(files.root(), dtype, manager, QwenPromptTemplate.EDIT,
                        QwenPromptBatch.DEFAULT_MAX_SEQUENCE_LENGTH);
                encoder.vision = QwenVisionTower.load(files.textEncoderDir(), dtype, manager);
            }
        } catch (IOException | RuntimeException | Error e) {
            try {
                DiffusionPipeline.closeAll(Arrays.asList(encoder, vae, transformer), manager::close);
            } catch (RuntimeException | Error closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
        QwenImageConfig c = QwenImagePipelines.transformerConfig(files);
        String description = String.format("Qwen-Image-Edit (%d blocks, %d heads x %d, text width %d, edit area %d)"
                + " from %s, %s on %s", c.numLayers(), c.numAttentionHeads(), c.attentionHeadDim(),
                c.jointAttentionDim(), editArea, files.root(), dtype.displayName(), manager.getDevice())
                + (transformer != null ? "" : ", text encoder only");
        DiffusionPipeline inner = new DiffusionPipeline(manager, dtype, encoder, transformer, vae, () -> description);
        return new EditPipeline(inner, current, editArea);
    }

    /**
     * The size the condition image of {@code width} × {@code height} is resized to:
     * {@code calculate_dimensions(editArea, width / height)}, multiples of 32.
     *
     * @throws IllegalArgumentException when a side would round to 0 (an image too elongated for the area)
     */
    public static EditSizes.Size conditionSize(int width, int height, long editArea) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("condition image size " + width + "x" + height);
        }
        EditSizes.Size s = EditSizes.calculateDimensions(editArea, (double) width / height);
        if (s.width() < 32 || s.height() < 32) {
            throw new IllegalArgumentException("the condition image " + width + "x" + height + " is too elongated for "
                    + "an edit area of " + editArea + " pixels: it would be resized to " + s + " (each side must reach "
                    + "32; give a larger edit area)");
        }
        return s;
    }

    /** The request's one condition image, resized as the pipeline uses it, and what is made from it. */
    private static final class CurrentImage {
        private final NDManager parent;
        private RgbImage resized;
        private NDManager scope;
        private Features features;
        private NDArray tokens;

        CurrentImage(NDManager parent) {
            this.parent = parent;
        }

        void begin(RgbImage image) {
            end();
            resized = image;
            scope = parent.newSubManager();
        }

        RgbImage image() {
            if (resized == null) {
                throw new IllegalStateException(PROMPT_NEEDS_IMAGE);
            }
            return resized;
        }

        void end() {
            resized = null;
            features = null;
            tokens = null;
            if (scope != null) {
                scope.close();
                scope = null;
            }
        }
    }

    /** The vision tower's output for the current image and its {@code image_grid_thw}. */
    private record Features(NDArray values, int gridT, int gridH, int gridW) {}

    /** The condition-image pipeline around the text-to-image skeleton. */
    private static final class EditPipeline implements ImagePipeline {
        private final DiffusionPipeline inner;
        private final CurrentImage current;
        private final long editArea;

        EditPipeline(DiffusionPipeline inner, CurrentImage current, long editArea) {
            this.inner = inner;
            this.current = current;
            this.editArea = editArea;
        }

        @Override
        public GenerationResult generate(GenerationRequest request) throws Exception {
            if (request.images().size() != 1) {
                throw new IllegalArgumentException("Qwen-Image-Edit takes one condition image per request, got "
                        + request.images().size());
            }
            RgbImage image = request.images().get(0);
            EditSizes.Size size = conditionSize(image.width(), image.height(), editArea);
            // Pillow returns a copy, unfiltered, when the size does not change
            RgbImage resized = size.width() == image.width() && size.height() == image.height() ? image
                    : Resampling.resize(image, size.width(), size.height(), Resampling.Filter.LANCZOS);
            current.begin(resized);
            try {
                return inner.generate(request.withImages(List.of()));
            } finally {
                current.end();
            }
        }

        /** Always refused: the Edit template holds the image, so a prompt is encoded only within {@link #generate}. */
        @Override
        public TextEmbeddings encode(String prompt) {
            throw new IllegalStateException(PROMPT_NEEDS_IMAGE);
        }

        @Override
        public void releaseTextEncoders() {
            inner.releaseTextEncoders();
        }

        @Override
        public String describe() {
            return inner.describe();
        }

        @Override
        public long parameterBytes() {
            return inner.parameterBytes();
        }

        @Override
        public void close() {
            try {
                current.end();
            } finally {
                inner.close();
            }
        }
    }

    /** The transformer, its scheduler and the VAE encoder that makes the condition tokens. */
    private static final class Part extends QwenImagePipelines.Part {
        private final CurrentImage current;
        private QwenVaeEncoder vaeEncoder;

        Part(QwenImageTransformer transformer, FlowMatchEuler scheduler, CurrentImage current) {
            super(transformer, scheduler);
            this.current = current;
        }

        /** The current image's VAE tokens, encoded once per request, on the request's scope. */
        @Override
        QwenImageDenoiser.Condition condition() {
            RgbImage image = current.image();
            if (current.tokens == null) {
                try (NDManager scope = current.scope.newSubManager()) {
                    NDArray tokens = vaeEncoder.encodeTokens(TensorImages.toTensor(List.of(image), scope));
                    tokens.attach(current.scope);
                    current.tokens = tokens;
                }
            }
            return new QwenImageDenoiser.Condition(current.tokens, MsRope.Grid.of(image.height() / 16,
                    image.width() / 16));
        }

        @Override
        public long parameterBytes() {
            return super.parameterBytes() + (vaeEncoder == null ? 0 : vaeEncoder.parameterBytes());
        }

        @Override
        public void close() {
            try {
                super.close();
            } finally {
                if (vaeEncoder != null) {
                    vaeEncoder.close();
                }
            }
        }
    }

    /** The Edit prompt encoder with the vision tower and processor that give it the image's features. */
    private static final class Encoder implements DiffusionPipeline.PromptEncoder {
        private final CurrentImage current;
        private final QwenVisionProcessor processor;
        private QwenPromptEncoder prompts;
        private QwenVisionTower vision;

        Encoder(CurrentImage current, QwenVisionProcessor processor) {
            this.current = current;
            this.processor = processor;
        }

        @Override
        public TextEmbeddings encode(String prompt) {
            RgbImage image = current.image();
            if (current.features == null) {
                QwenVisionProcessor.Result p = processor.process(image);
                try (NDManager scope = current.scope.newSubManager()) {
                    NDArray patches = scope.create(p.pixelValues(), new Shape(p.numPatches(), p.patchDim()));
                    NDArray features = vision.encode(patches, p.gridT(), p.gridH(), p.gridW());
                    features.attach(current.scope);
                    current.features = new Features(features, p.gridT(), p.gridH(), p.gridW());
                }
            }
            Features f = current.features;
            return prompts.encodeWithImage(prompt, f.values(), f.gridT(), f.gridH(), f.gridW());
        }

        @Override
        public long parameterBytes() {
            return (prompts == null ? 0 : prompts.parameterBytes()) + (vision == null ? 0 : vision.parameterBytes());
        }

        @Override
        public void close() {
            try {
                if (prompts != null) {
                    prompts.close();
                }
            } finally {
                if (vision != null) {
                    vision.close();
                }
            }
        }
    }
}
