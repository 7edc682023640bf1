package io.hicache.cli;

import io.hicache.core.cache.CacheStats;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.GenerationResult;
import io.hicache.core.pipeline.GenerationStats;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.PipelineSpec.Component;
import io.hicache.core.pipeline.TextEmbeddings;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend for testing the launcher: makes small deterministic images in milliseconds and fails
 * on request. A fake model is a directory with one file per component ({@code text_encoders.bin},
 * {@code transformer.bin}, {@code vae.bin}) and an optional {@code fake.properties}:
 * {@code delay_ms} (per image) and {@code fail_loads} (that many first loads of a transformer
 * fail). Prompts steer failures: {@code FAIL} throws, {@code NAN} reports non-finite latents,
 * {@code OOM} throws {@link OutOfMemoryError}, {@code CUDAOOM} throws libtorch's out-of-memory
 * exception, {@code CPUALLOC} libtorch's CPU allocation failure, {@code WRAPPED} an exception
 * caused by an {@link OutOfMemoryError}, {@code DIE} kills the pipeline (an {@link Error}), {@code FLAKY} fails
 * while the model directory holds a file {@code flaky}, {@code HOOK} runs {@link #duringGenerate}.
 *
 * <p>Image and latents depend only on the text embeddings (encoded here from the prompt, or
 * given), the seed or the initial noise, and the size, so every path through the launcher must
 * produce the same files.
 */
public final class FakeBackend implements Backend {
    static final String[] FILES = {"text_encoders.bin", "transformer.bin", "vae.bin"};
    static final int CHANNELS = 4;

    /** Every spec opened in this JVM, for assertions. */
    static final List<PipelineSpec> OPENED = Collections.synchronizedList(new ArrayList<>());
    /** "open COMPONENTS" and "close COMPONENTS" of every pipeline, in the order they happened. */
    static final List<String> EVENTS = Collections.synchronizedList(new ArrayList<>());
    static final AtomicInteger ENCODES = new AtomicInteger();
    private static final Map<Path, AtomicInteger> TRANSFORMER_LOADS = new ConcurrentHashMap<>();
    /** What a test does to the world while an image is being made. */
    static volatile IoAction duringGenerate;

    interface IoAction {
        void run() throws IOException;
    }

    /** Writes a fake model with all components into {@code dir}. */
    static Path createModel(Path dir, int delayMs, int failLoads) throws IOException {
        Files.createDirectories(dir);
        for (String f : FILES) {
            Files.writeString(dir.resolve(f), "fake weights\n");
        }
        Files.writeString(dir.resolve("fake.properties"), "delay_ms=" + delayMs + "\nfail_loads=" + failLoads + "\n");
        return dir;
    }

    static void reset() {
        OPENED.clear();
        EVENTS.clear();
        ENCODES.set(0);
        duringGenerate = null;
    }

    @Override
    public String name() {
        return "fake";
    }

    @Override
    public String description() {
        return "deterministic test images";
    }

    @Override
    public String defaultModel() {
        return "fake-models/default";
    }

    @Override
    public void checkModel(PipelineSpec spec) throws IOException {
        Path dir = Path.of(spec.model());
        if (!Files.isDirectory(dir)) {
            throw new IOException("fake model directory not found: " + dir + " (make one with FakeBackend.createModel, "
                    + "or pass --model-path)");
        }
        for (Component c : spec.components()) {
            Path file = dir.resolve(FILES[c.ordinal()]);
            if (!Files.isRegularFile(file)) {
                throw new IOException("fake model " + dir + " has no " + file.getFileName() + " (needed for "
                        + c.name().toLowerCase(java.util.Locale.ROOT) + ")");
            }
        }
    }

    /** Matches {@link FakePipeline#encode}: tokens [1, 2, 8], pooled [1, 3]; latents of {@value #CHANNELS} channels. */
    @Override
    public io.hicache.core.pipeline.InputShapes inputShapes(String model) {
        return new io.hicache.core.pipeline.InputShapes(8, 3, CHANNELS, 8);
    }

    /** The launcher's old fixed defaults, so tests that name no size keep theirs. */
    @Override
    public io.hicache.core.pipeline.ModelDefaults defaults(String model) {
        return new io.hicache.core.pipeline.ModelDefaults(1024, 1024, 50, 3.5, 1);
    }

    @Override
    public void writeTinyModel(Path dir, long seed, io.hicache.core.runtime.TensorType dtype, boolean sharded)
            throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("model.txt"), "fake model, seed " + seed + "\n");
    }

    @Override
    public ImagePipeline open(PipelineSpec spec) throws IOException {
        checkModel(spec);
        Path dir = Path.of(spec.model()).toAbsolutePath().normalize();
        Properties props = new Properties();
        Path propsFile = dir.resolve("fake.properties");
        if (Files.exists(propsFile)) {
            try (Reader r = Files.newBufferedReader(propsFile)) {
                props.load(r);
            }
        }
        if (spec.has(Component.TRANSFORMER)) {
            int load = TRANSFORMER_LOADS.computeIfAbsent(dir, d -> new AtomicInteger()).incrementAndGet();
            if (load <= Integer.parseInt(props.getProperty("fail_loads", "0"))) {
                if (Boolean.parseBoolean(props.getProperty("invalid_model", "false"))) {
                    throw new InvalidModelException(dir + ": simulated invalid model (load " + load + ")");
                }
                throw new IOException("simulated load failure " + load + " of " + dir);
            }
        }
        OPENED.add(spec);
        EVENTS.add("open " + spec.components());
        return new FakePipeline(spec, dir, Long.parseLong(props.getProperty("delay_ms", "0")));
    }

    /** A thrown {@link Error} standing for a crashed native runtime. */
    static final class PipelineDied extends Error {
        PipelineDied(String message) {
            super(message);
        }
    }

    private static final class FakePipeline implements ImagePipeline {
        private final PipelineSpec spec;
        private final Path dir;
        private final long delayMs;
        private boolean dead;

        FakePipeline(PipelineSpec spec, Path dir, long delayMs) {
            this.spec = spec;
            this.dir = dir;
            this.delayMs = delayMs;
        }

        @Override
        public TextEmbeddings encode(String prompt) {
            if (!spec.has(Component.TEXT_ENCODERS)) {
                throw new IllegalStateException("text encoders not loaded");
            }
            ENCODES.incrementAndGet();
            float[] tokens = new float[2 * 8];
            long h = prompt.hashCode();
            for (int i = 0; i < tokens.length; i++) {
                h = h * 6364136223846793005L + 1442695040888963407L;
                tokens[i] = (h >>> 40) / (float) (1 << 24);
            }
            return new TextEmbeddings(new HostTensor(new long[] {1, 2, 8}, tokens),
                    new HostTensor(new long[] {1, 3}, new float[] {tokens[0], tokens[1], tokens[2]}));
        }

        @Override
        public GenerationResult generate(GenerationRequest r) throws Exception {
            if (dead) {
                throw new IllegalStateException("pipeline used after it died");
            }
            if (!spec.has(Component.TRANSFORMER)) {
                throw new IllegalStateException("transformer not loaded");
            }
            if (r.decode() && !spec.has(Component.VAE)) {
                throw new IllegalStateException("asked to decode without a VAE");
            }
            Thread.sleep(delayMs);
            String p = r.prompt();
            if (p.contains("DIE")) {
                dead = true;
                throw new PipelineDied("simulated crash of the native runtime");
            }
            if (p.contains("CPUALLOC")) {
                throw new RuntimeException("DefaultCPUAllocator: not enough memory: you tried to allocate 17179869184 bytes.");
            }
            if (p.contains("WRAPPED")) {
                throw new IllegalStateException("decode failed", new OutOfMemoryError("Java heap space"));
            }
            if (p.contains("CUDAOOM")) {
                throw new RuntimeException("CUDA out of memory. Tried to allocate 2.00 GiB");
            }
            if (p.contains("OOM")) {
                throw new OutOfMemoryError("simulated");
            }
            if (p.contains("HOOK")) {
                duringGenerate.run();
            }
            if (p.contains("FAIL") || (p.contains("FLAKY") && Files.exists(dir.resolve("flaky")))) {
                throw new IllegalStateException("simulated failure for '" + p + "'");
            }
            if (p.contains("NAN")) { // as the real pipelines report diverged latents
                throw new io.hicache.core.diffusion.NonFiniteLatentsException();
            }
            TextEmbeddings e = r.embeddings() != null ? r.embeddings() : encode(p);
            long h = Arrays.hashCode(e.tokens().data()) * 31L + Arrays.hashCode(e.pooled().data());
            h = h * 31 + (r.initialNoise() != null ? Arrays.hashCode(r.initialNoise().data()) : Long.hashCode(r.seed()));
            int h8 = r.height() / 8;
            int w8 = r.width() / 8;
            float[] latents = new float[CHANNELS * h8 * w8];
            long x = h;
            for (int i = 0; i < latents.length; i++) {
                x = x * 6364136223846793005L + 1442695040888963407L;
                latents[i] = (x >> 40) / (float) (1 << 23);
            }
            BufferedImage image = null;
            if (r.decode()) {
                image = new BufferedImage(r.width(), r.height(), BufferedImage.TYPE_INT_RGB);
                int base = (int) (h ^ (h >>> 32)) & 0xFFFFFF;
                for (int y = 0; y < r.height(); y++) {
                    for (int xx = 0; xx < r.width(); xx++) {
                        image.setRGB(xx, y, base ^ ((xx * 7 + y * 13) & 0xFF) ^ ((int) r.seed() * 0x010203 & 0xFFFFFF));
                    }
                }
            }
            int full = r.cache().schedule().fullSteps(r.steps()).size();
            CacheStats cache = new CacheStats(r.steps(), full, r.steps() - full, full, r.steps() - full, 0, 4096L * full,
                    Map.of(), r.measureForecastError() ? Map.of(3, 0.01, 4, 0.03) : Map.of());
            GenerationStats stats = new GenerationStats(delayMs / 1000.0, 0, delayMs / 1000.0, 0, List.of(), cache, Map.of());
            return new GenerationResult(image, new HostTensor(new long[] {1, CHANNELS, h8, w8}, latents), stats);
        }

        @Override
        public String describe() {
            return "fake " + spec.components() + " on " + DeviceChoice.name(spec.device()) + " ("
                    + spec.dtype().displayName() + ")";
        }

        @Override
        public long parameterBytes() {
            return 1234;
        }

        @Override
        public void close() {
            EVENTS.add("close " + spec.components());
        }
    }
}
