package io.hicache.benchmarks;

import io.hicache.core.cache.SiteKey;
import io.hicache.core.cache.CacheSession;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.metrics.FlopCounter;
import io.hicache.core.nn.RotaryEmbedding;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.sampling.SeededNoise;
import io.hicache.flux.FluxConfig;
import io.hicache.flux.FluxPositions;
import io.hicache.flux.FluxTransformer;
import io.hicache.flux.SyntheticFluxModels;
import io.hicache.flux.TinyFlux;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One FLUX block at the mid-size benchmark config (hidden 768 = 6 heads × 128, 512² → 1024 image
 * tokens, 512 text tokens): a transformer holding a single double block or a single single block,
 * run without cache. The embeddings and the final layer around it add 0.4 GFLOP to the block's
 * 29.0 GFLOP (printed by {@link #printFlops}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true"})
public class FluxBlockBenchmark {
    @Param({"double", "single"})
    public String block;

    @Param({"float32", "bfloat16"})
    public String dtype;

    Path dir;
    NDManager manager;
    FluxTransformer transformer;
    NDArray hidden;
    NDArray text;
    NDArray pooled;
    RotaryEmbedding rope;
    final float[] timestep = {0.5f};
    final float[] guidance = {3.5f};

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        HiCacheRuntime.bootstrap();
        FluxConfig mid = SyntheticFluxModels.midTransformerConfig();
        boolean isDouble = block.equals("double");
        FluxConfig one = new FluxConfig(mid.inChannels(), mid.outChannels(), isDouble ? 1 : 0, isDouble ? 0 : 1,
                mid.attentionHeadDim(), mid.numAttentionHeads(), mid.jointAttentionDim(), mid.pooledProjectionDim(), true,
                mid.axesDimsRope());
        dir = Files.createTempDirectory("hicache-block-");
        TinyFlux.write(dir, one, 1, TensorType.F32, false);
        manager = NDManager.newBaseManager();
        TensorType t = TensorType.parseCompute(dtype);
        transformer = FluxTransformer.load(dir, t, manager);
        hidden = Precision.cast(SeededNoise.gaussian(1, new Shape(1, 1024, 64), manager), t);
        text = Precision.cast(SeededNoise.gaussian(2, new Shape(1, 512, mid.jointAttentionDim()), manager), t);
        pooled = Precision.cast(SeededNoise.gaussian(3, new Shape(1, mid.pooledProjectionDim()), manager), t);
        rope = transformer.rotaryEmbedding(FluxPositions.textIds(512, manager), FluxPositions.imageIds(64, 64, manager),
                manager);
        printFlops(one);
    }

    static void printFlops(FluxConfig c) {
        System.out.printf("%n%s: %.3f GFLOP per forward%n", c, FluxTransformer.flopsPerForward(c, 1024, 512).total() / 1e9);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        transformer.close();
        manager.close();
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    public void forward() {
        try (NDManager m = manager.newSubManager()) {
            m.tempAttachAll(hidden, text, pooled);
            transformer.forward(hidden, text, pooled, timestep, guidance, rope, SiteKey.COND, CacheSession.singleForward(m), new FlopCounter());
        }
    }
}
