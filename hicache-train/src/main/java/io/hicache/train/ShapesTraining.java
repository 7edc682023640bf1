package io.hicache.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.nn.SinusoidalTimesteps;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.LatentPacking;
import io.hicache.core.shapes.ShapeScene;
import io.hicache.core.util.AtomicFiles;
import io.hicache.core.util.FileTrees;
import io.hicache.core.weights.SafetensorsWriter;
import io.hicache.core.weights.WeightStore;
import io.hicache.flux.FluxConfig;
import io.hicache.flux.FluxModelFiles;
import io.hicache.flux.FluxPipeline;
import io.hicache.flux.FluxPositions;
import io.hicache.flux.ShapesModel;
import io.hicache.core.diffusion.DiffusionPipeline;
import io.hicache.flux.vae.VaeConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Trains {@code builtin:flux-shapes} from nothing on a CPU, in three resumable phases: the
 * AutoencoderKL on freshly drawn images (reconstruction + small KL), the latents of a fixed pool of
 * images (with the scaling and shift factors measured on them), then the FLUX transformer on those
 * latents with the rectified-flow objective and condition dropout. Every phase checkpoints
 * atomically and a rerun of the same command continues where it stopped; the final model is a
 * complete FLUX folder in {@code <output-dir>/model}.
 */
@Command(name = "hicache-train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Trains the built-in Shapes model (FLUX architecture) on this machine's CPU; rerun to resume.")
public final class ShapesTraining implements Callable<Integer> {
    @Option(names = "--output-dir", defaultValue = "runs/flux-shapes", paramLabel = "DIR",
            description = "Checkpoints, loss logs and curves, and the trained model in DIR/model (default: ${DEFAULT-VALUE}).")
    Path outputDir;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the initial weights and of every batch (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--vae-steps", defaultValue = "1200", description = "Autoencoder steps (default: ${DEFAULT-VALUE}).")
    int vaeSteps;

    @Option(names = "--vae-batch", defaultValue = "8", description = "Autoencoder batch (default: ${DEFAULT-VALUE}).")
    int vaeBatch;

    @Option(names = "--vae-lr", defaultValue = "1e-3", description = "Autoencoder peak learning rate (default: ${DEFAULT-VALUE}).")
    double vaeLr;

    @Option(names = "--kl-weight", defaultValue = "1e-4", description = "Weight of the autoencoder's KL term (default: ${DEFAULT-VALUE}).")
    double klWeight;

    @Option(names = "--decoder-steps", defaultValue = "500",
            description = "Steps refining the decoder alone on the frozen encoder's latents (default: ${DEFAULT-VALUE}).")
    int decoderSteps;

    @Option(names = "--decoder-lr", defaultValue = "5e-4", description = "Decoder refinement peak learning rate (default: ${DEFAULT-VALUE}).")
    double decoderLr;

    @Option(names = "--pool", defaultValue = "4096", description = "Images whose latents the transformer trains on (default: ${DEFAULT-VALUE}).")
    int pool;

    @Option(names = "--steps", defaultValue = "7000", description = "Transformer steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--batch", defaultValue = "32", description = "Transformer batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lr", defaultValue = "6e-4", description = "Transformer peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--cond-dropout", defaultValue = "0.1", description = "Share of samples trained with the empty prompt (default: ${DEFAULT-VALUE}).")
    double condDropout;

    @Option(names = "--checkpoint-every", defaultValue = "250", description = "Steps between checkpoints (default: ${DEFAULT-VALUE}).")
    int checkpointEvery;

    @Option(names = "--precision", defaultValue = "float32", paramLabel = "DTYPE",
            description = "What linears and convolutions multiply in: bfloat16 (about 30%% faster on CPUs with "
                    + "AVX-512 BF16) or float32; weights, Adam, norms, attention and the loss are float32 either way "
                    + "(default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--threads", defaultValue = "0", description = "Torch intra-op threads; 0 = all cores (default: ${DEFAULT-VALUE}).")
    int threads;

    /** Stops (checkpointed, as on Ctrl-C) after this many steps of this run: how tests interrupt a run. */
    @Option(names = "--stop-after", defaultValue = "0", hidden = true)
    int stopAfter;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Set by Ctrl-C or SIGTERM: the run stops at the end of the current step, checkpointed. */
    private volatile boolean stopRequested;
    private int stepsThisRun;

    /** Thrown at a step boundary once a stop was requested; everything up to it is saved. */
    static final class Stopped extends Exception {
        Stopped(String phase, int step) {
            super("stopped during the " + phase + " at step " + step + ", checkpoint saved; rerun the same command to resume");
        }
    }

    private static final String VAE_CHECKPOINT = "vae.ckpt.safetensors";
    private static final String DECODER_CHECKPOINT = "vae-decoder.ckpt.safetensors";
    private static final String FLUX_CHECKPOINT = "transformer.ckpt.safetensors";
    private static final String LATENTS = "latents.safetensors";
    private static final int WARMUP = 100;

    public static void main(String[] args) {
        HiCacheRuntime.bootstrap();
        ShapesTraining training = new ShapesTraining();
        // The JVM's own Ctrl-C handling would run shutdown hooks that free native tensors while a
        // backward pass still uses them (a crash); instead the step finishes and the run checkpoints.
        for (String name : new String[] {"INT", "TERM"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> {
                if (training.stopRequested) {
                    Runtime.getRuntime().halt(130);
                }
                training.stopRequested = true;
                System.err.println("\nstopping after this step (again to quit at once)");
            });
        }
        System.exit(new CommandLine(training).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        String bad = vaeSteps < 1 ? "--vae-steps must be at least 1"
                : steps < 0 || decoderSteps < 0 ? "--steps and --decoder-steps must be at least 0"
                : vaeBatch < 1 || batch < 1 ? "--vae-batch and --batch must be at least 1"
                : pool < batch ? "--pool (" + pool + ") must hold at least one --batch (" + batch + ")"
                : checkpointEvery < 1 ? "--checkpoint-every must be at least 1"
                : !(condDropout >= 0 && condDropout < 1) ? "--cond-dropout must be in [0, 1)"
                : !(vaeLr > 0 && decoderLr > 0 && lr > 0) ? "learning rates must be positive"
                : threads < 0 ? "--threads must be at least 0"
                : !precision.equals("bfloat16") && !precision.equals("float32")
                        ? "--precision must be bfloat16 or float32, got '" + precision + "'" : null;
        if (bad != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), bad);
        }
        if (threads > 0) {
            JniUtils.setNumThreads(threads);
        }
        Files.createDirectories(outputDir);
        Path initial = initialModel();
        long start = System.nanoTime();
        try {
            train(initial);
        } catch (Stopped e) {
            System.err.println(e.getMessage());
            return 130;
        }
        System.out.printf(Locale.ROOT, "model written to %s (%.1f min this run)%n", outputDir.resolve("model"),
                (System.nanoTime() - start) / 6e10);
        return 0;
    }

    private void train(Path initial) throws Exception {
        try (NDManager root = NDManager.newBaseManager(Device.cpu())) {
            TrainingScript script = TrainingScript.load(root, precision.equals("bfloat16"));
            try (TrainableWeights vae = trainVae(script, initial, root);
                    TrainableWeights decoder = refineDecoder(script, vae, initial, root)) {
                float[][] latents = poolLatents(script, vae, root);
                double[] factors = latentFactors(latents);
                try (TrainableWeights flux = trainTransformer(script, initial, latents, factors, root)) {
                    export(initial, vae, decoder, flux, factors);
                }
            }
        }
    }

    /** After a step: checkpoint on schedule, at the end, or when stopping; then stop if asked. */
    private void afterStep(String phase, int done, int total, TrainableWeights w, Path ckpt, LossLog log)
            throws IOException, Stopped {
        stepsThisRun++;
        boolean stop = stopRequested || (stopAfter > 0 && stepsThisRun >= stopAfter);
        if (done % checkpointEvery == 0 || done == total || stop) {
            w.save(ckpt);
            log.write();
        }
        if (stop && done < total) {
            throw new Stopped(phase, done);
        }
    }

    /** The untrained model (seeded weights, text encoders, tokenizers), written once. */
    private Path initialModel() throws IOException {
        Path dir = outputDir.resolve("initial");
        if (Files.isRegularFile(dir.resolve(".complete"))) {
            return dir;
        }
        Path tmp = outputDir.resolve("initial" + AtomicFiles.TEMP_INFIX + "dir");
        if (Files.exists(tmp)) {
            FileTrees.delete(tmp);
        }
        if (Files.exists(dir)) {
            FileTrees.delete(dir);
        }
        ShapesModel.writeInitial(tmp, seed);
        Files.writeString(tmp.resolve(".complete"), "");
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        return dir;
    }

    // ------------------------------------------------------------------------------ autoencoder

    private static NDArray vaeHyper(VaeConfig c, double klWeight, NDManager m) {
        return m.create(new float[] {c.levels(), c.layersPerBlock, c.normNumGroups, (float) klWeight});
    }

    private TrainableWeights trainVae(TrainingScript script, Path initial, NDManager root)
            throws IOException, Stopped {
        Path ckpt = outputDir.resolve(VAE_CHECKPOINT);
        TrainableWeights w;
        if (Files.isRegularFile(ckpt)) {
            w = TrainableWeights.load(ckpt, root);
        } else {
            try (WeightStore store = WeightStore.open(initial.resolve("vae"))) {
                w = TrainableWeights.from(store, n -> true, root);
            }
        }
        VaeConfig config = VaeConfig.read(initial.resolve("vae"));
        LossLog log = LossLog.open(outputDir.resolve("vae-loss.csv"), outputDir.resolve("vae-loss.png"),
                "autoencoder", List.of("loss", "mse", "kl", "grad_norm"), w.step());
        int latentSide = ShapeScene.IMAGE_SIDE / config.scaleFactor();
        try (Progress progress = new Progress("autoencoder", w.step(), vaeSteps, w.parameterCount())) {
            for (int step = w.step(); step < vaeSteps; step++) {
                Random random = ShapesData.random(seed, "vae", step);
                float[] metrics;
                try (NDManager s = root.newSubManager()) {
                    NDArray x = ShapesData.images(ShapesData.scenes(random, vaeBatch), s);
                    NDArray eps = gaussian(random, s, vaeBatch, config.latentChannels, latentSide, latentSide);
                    metrics = lossStep(script, "vae_loss", s, List.of(x, eps, vaeHyper(config, klWeight, s)), w);
                }
                double norm = w.adam(schedule(vaeLr, step, vaeSteps), 1.0);
                log.add(step + 1, withNorm(metrics, norm));
                progress.step(step + 1, log.recentMean(0, 20));
                afterStep("autoencoder", step + 1, vaeSteps, w, ckpt, log);
            }
        }
        return w;
    }

    /**
     * The decoder alone, trained further on the latent means of the (now frozen) encoder, with MSE
     * plus L1: the latent space the transformer learns does not move, the images get sharper.
     */
    private TrainableWeights refineDecoder(TrainingScript script, TrainableWeights vae, Path initial, NDManager root)
            throws IOException, Stopped {
        Path ckpt = outputDir.resolve(DECODER_CHECKPOINT);
        TrainableWeights w = Files.isRegularFile(ckpt) ? TrainableWeights.load(ckpt, root)
                : TrainableWeights.copyOf(vae, n -> n.startsWith("decoder.") || n.startsWith("post_quant_conv."), root);
        VaeConfig config = VaeConfig.read(initial.resolve("vae"));
        LossLog log = LossLog.open(outputDir.resolve("decoder-loss.csv"), outputDir.resolve("decoder-loss.png"),
                "decoder refinement", List.of("loss", "mse", "l1", "grad_norm"), w.step());
        try (Progress progress = new Progress("decoder", w.step(), decoderSteps, w.parameterCount())) {
            for (int step = w.step(); step < decoderSteps; step++) {
                Random random = ShapesData.random(seed, "decoder", step);
                float[] metrics;
                try (NDManager s = root.newSubManager()) {
                    NDArray x = ShapesData.images(ShapesData.scenes(random, vaeBatch), s);
                    NDArray hp = vaeHyper(config, 1.0, s);
                    // train mode with grad mode off: an ordinary tensor outside any graph (an
                    // inference-mode result could not be saved for the decoder's backward)
                    NDArray z = script.run("vae_mean", s, List.of(x, hp), vae, true).get(0);
                    metrics = lossStep(script, "vae_decoder_loss", s, List.of(x, z, hp), w);
                }
                double norm = w.adam(schedule(decoderLr, step, decoderSteps), 1.0);
                log.add(step + 1, withNorm(metrics, norm));
                progress.step(step + 1, log.recentMean(0, 20));
                afterStep("decoder", step + 1, decoderSteps, w, ckpt, log);
            }
        }
        return w;
    }

    /** One forward + backward of {@code method} (no update); returns its metrics. */
    static float[] lossStep(TrainingScript script, String method, NDManager s, List<NDArray> inputs,
            TrainableWeights w) {
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDList out = script.run(method, s, inputs, w, true);
            gc.backward(out.get(0));
            return out.get(1).toFloatArray();
        }
    }

    /** The latent means of the pool's images (raw VAE space), computed once and kept in the output dir. */
    private float[][] poolLatents(TrainingScript script, TrainableWeights vae, NDManager root) throws IOException {
        Path file = outputDir.resolve(LATENTS);
        if (Files.isRegularFile(file)) {
            try (WeightStore store = WeightStore.open(file); NDManager s = root.newSubManager()) {
                String stored = store.metadata().get("pool");
                if (stored != null && Integer.parseInt(stored) == pool) {
                    float[] all = store.get("latents", TensorType.F32, s).toFloatArray();
                    int per = all.length / pool;
                    float[][] out = new float[pool][];
                    for (int i = 0; i < pool; i++) {
                        out[i] = java.util.Arrays.copyOfRange(all, i * per, (i + 1) * per);
                    }
                    return out;
                }
            }
        }
        List<ShapeScene> scenes = poolScenes();
        VaeConfig config = ShapesModel.vaeConfig(1, 0);
        float[][] out = new float[pool][];
        long[] shape = null;
        try (Progress progress = new Progress("latents", 0, pool, 0)) {
            for (int from = 0; from < pool; from += 64) {
                int to = Math.min(pool, from + 64);
                try (NDManager s = root.newSubManager()) {
                    NDArray x = ShapesData.images(scenes.subList(from, to), s);
                    NDArray mean = script.run("vae_mean", s, List.of(x, vaeHyper(config, 0, s)), vae, false).get(0);
                    shape = mean.getShape().getShape();
                    float[] flat = mean.toFloatArray();
                    int per = flat.length / (to - from);
                    for (int i = from; i < to; i++) {
                        out[i] = java.util.Arrays.copyOfRange(flat, (i - from) * per, (i - from + 1) * per);
                    }
                }
                progress.step(to, Double.NaN);
            }
        }
        int per = out[0].length;
        ByteBuffer bytes = ByteBuffer.allocate(pool * per * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float[] row : out) {
            for (float v : row) {
                bytes.putFloat(v);
            }
        }
        bytes.flip();
        new SafetensorsWriter().metadata("pool", Integer.toString(pool))
                .add("latents", TensorType.F32, new long[] {pool, shape[1], shape[2], shape[3]}, bytes).write(file);
        return out;
    }

    /** The pool: {@link #pool} scenes drawn from the run's seed (the same on every rerun). */
    private List<ShapeScene> poolScenes() {
        return ShapesData.scenes(ShapesData.random(seed, "pool", 0), pool);
    }

    /** {scaling_factor, shift_factor}: latents enter the transformer as (z − shift)·scale, unit variance. */
    static double[] latentFactors(float[][] latents) {
        double sum = 0;
        double sq = 0;
        long n = 0;
        for (float[] row : latents) {
            for (float v : row) {
                sum += v;
                sq += (double) v * v;
                n++;
            }
        }
        double mean = sum / n;
        double std = Math.sqrt(Math.max(sq / n - mean * mean, 1e-12));
        return new double[] {1 / std, mean};
    }

    // ------------------------------------------------------------------------------ transformer

    private TrainableWeights trainTransformer(TrainingScript script, Path initial, float[][] latents, double[] factors,
            NDManager root) throws Exception {
        Path ckpt = outputDir.resolve(FLUX_CHECKPOINT);
        TrainableWeights w;
        if (Files.isRegularFile(ckpt)) {
            w = TrainableWeights.load(ckpt, root);
        } else {
            try (WeightStore store = WeightStore.open(initial.resolve("transformer"))) {
                w = TrainableWeights.from(store, n -> true, root);
            }
        }
        FluxConfig config = FluxConfig.read(initial.resolve("transformer").resolve("config.json"));
        List<ShapeScene> scenes = poolScenes();
        LossLog log = LossLog.open(outputDir.resolve("transformer-loss.csv"), outputDir.resolve("transformer-loss.png"),
                "transformer (rectified flow)", List.of("loss", "grad_norm"), w.step());
        int latentSide = ShapeScene.IMAGE_SIDE / ShapesModel.vaeConfig(1, 0).scaleFactor();
        try (DiffusionPipeline text = FluxPipeline.load(FluxModelFiles.of(initial), new PipelineSpec(initial.toString(),
                Device.cpu(), TensorType.F32, EnumSet.of(PipelineSpec.Component.TEXT_ENCODERS)));
                NDManager fixed = root.newSubManager()) {
            TextCache prompts = new TextCache(text);
            NDArray ids = FluxPositions.textIds(ShapesModel.TEXT_TOKENS, fixed)
                    .concat(FluxPositions.imageIds(latentSide, latentSide, fixed), 0);
            RotaryEmbedding rope = RotaryEmbedding.of(ids, config.axesDimsRope(), FluxConfig.ROPE_THETA, fixed);
            NDArray hp = fixed.create(new float[] {config.numLayers(), config.numSingleLayers(),
                config.numAttentionHeads()});
            try (Progress progress = new Progress("transformer", w.step(), steps, w.parameterCount())) {
                for (int step = w.step(); step < steps; step++) {
                    Random random = ShapesData.random(seed, "flux", step);
                    float[] metrics;
                    try (NDManager s = root.newSubManager()) {
                        float[] z = new float[batch * latents[0].length];
                        float[] t = new float[batch];
                        double[] t1000 = new double[batch];
                        List<String> texts = new ArrayList<>();
                        for (int b = 0; b < batch; b++) {
                            int i = random.nextInt(pool);
                            System.arraycopy(latents[i], 0, z, b * latents[i].length, latents[i].length);
                            texts.add(ShapesData.prompt(scenes.get(i).attributes(), condDropout, random));
                            t[b] = (float) (1 / (1 + Math.exp(-random.nextGaussian()))); // logit-normal
                            t1000[b] = t[b] * 1000.0;
                        }
                        for (int k = 0; k < z.length; k++) {
                            z[k] = (float) ((z[k] - factors[1]) * factors[0]);
                        }
                        NDArray x0 = LatentPacking.pack(s.create(z, new Shape(batch, latents[0].length
                                / (latentSide * latentSide), latentSide, latentSide)));
                        NDArray noise = gaussian(random, s, x0.getShape().getShape());
                        NDArray tfeat = SinusoidalTimesteps.embed(t1000, FluxConfig.TIMESTEP_CHANNELS, s);
                        NDArray[] cond = prompts.batch(texts, s);
                        metrics = lossStep(script, "flux_loss", s, List.of(x0, noise, s.create(t), tfeat, cond[0],
                                cond[1], rope.cos(), rope.sin(), hp), w);
                    }
                    double norm = w.adam(schedule(lr, step, steps), 1.0);
                    log.add(step + 1, withNorm(metrics, norm));
                    progress.step(step + 1, log.recentMean(0, 50));
                    afterStep("transformer", step + 1, steps, w, ckpt, log);
                }
            }
        }
        return w;
    }

    /** Prompt embeddings by text, from the model's own (frozen) encoders, each prompt encoded once. */
    private static final class TextCache {
        private final DiffusionPipeline pipeline;
        private final Map<String, TextEmbeddings> cache = new HashMap<>();

        TextCache(DiffusionPipeline pipeline) {
            this.pipeline = pipeline;
        }

        /** {T5 tokens [B, L, D], pooled CLIP [B, P]} of {@code texts}. */
        NDArray[] batch(List<String> texts, NDManager s) throws Exception {
            List<TextEmbeddings> e = new ArrayList<>();
            for (String t : texts) {
                TextEmbeddings hit = cache.get(t);
                if (hit == null) {
                    hit = pipeline.encode(t);
                    cache.put(t, hit);
                }
                e.add(hit);
            }
            float[] tokens = concat(e.stream().map(x -> x.tokens().data()).toList());
            float[] pooled = concat(e.stream().map(x -> x.pooled().data()).toList());
            long[] ts = e.get(0).tokens().shape();
            long width = ts[ts.length - 1];
            return new NDArray[] {
                s.create(tokens, new Shape(texts.size(), tokens.length / texts.size() / width, width)),
                s.create(pooled, new Shape(texts.size(), pooled.length / texts.size()))
            };
        }

        private static float[] concat(List<float[]> parts) {
            float[] out = new float[parts.stream().mapToInt(p -> p.length).sum()];
            int at = 0;
            for (float[] p : parts) {
                System.arraycopy(p, 0, out, at, p.length);
                at += p.length;
            }
            return out;
        }
    }

    // ------------------------------------------------------------------------------ export

    /** Writes {@code <output-dir>/model}: the initial folder with the trained weights in bf16 and the VAE's factors. */
    private void export(Path initial, TrainableWeights vae, TrainableWeights decoder, TrainableWeights flux,
            double[] factors) throws IOException {
        Path target = outputDir.resolve("model");
        Path tmp = outputDir.resolve("model" + AtomicFiles.TEMP_INFIX + "dir");
        if (Files.exists(tmp)) {
            FileTrees.delete(tmp);
        }
        List<String> files = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(initial)) {
            for (Path p : walk.filter(Files::isRegularFile).sorted().toList()) {
                String rel = initial.relativize(p).toString().replace('\\', '/');
                if (rel.startsWith(".")) {
                    continue;
                }
                Files.createDirectories(tmp.resolve(rel).getParent());
                Files.copy(p, tmp.resolve(rel));
                files.add(rel);
            }
        }
        Files.delete(tmp.resolve("transformer/diffusion_pytorch_model.safetensors")); // the initial weights
        files.remove("transformer/diffusion_pytorch_model.safetensors");
        TrainableWeights.export(tmp.resolve("transformer"), "diffusion_pytorch_model", TensorType.BF16, flux);
        TrainableWeights.export(tmp.resolve("vae"), "diffusion_pytorch_model", TensorType.BF16, vae, decoder);
        try (Stream<Path> walk = Files.list(tmp.resolve("transformer"))) {
            walk.map(p -> "transformer/" + p.getFileName()).filter(f -> !files.contains(f)).forEach(files::add);
        }
        java.util.Collections.sort(files);
        AtomicFiles.writeString(tmp.resolve("vae/config.json"), ShapesModel.vaeConfig(factors[0], factors[1]).toJson());
        AtomicFiles.writeString(tmp.resolve("FILES"), String.join("\n", files) + "\n");
        if (Files.exists(target)) {
            FileTrees.delete(target);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    }

    // ------------------------------------------------------------------------------ helpers

    private static float[] withNorm(float[] metrics, double gradientNorm) {
        float[] out = java.util.Arrays.copyOf(metrics, metrics.length + 1);
        out[metrics.length] = (float) gradientNorm;
        return out;
    }

    /** Linear warm-up, then a cosine decay to a tenth of {@code peak}. */
    static double schedule(double peak, int step, int total) {
        int warmup = Math.min(WARMUP, Math.max(1, total / 10));
        if (step < warmup) {
            return peak * (step + 1) / warmup;
        }
        double progress = (step - warmup) / (double) Math.max(1, total - warmup);
        return peak * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }

    private static NDArray gaussian(Random random, NDManager m, long... shape) {
        Shape s = new Shape(shape);
        float[] v = new float[Math.toIntExact(s.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return m.create(v, s);
    }
}
