package io.hicache.benchmarks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
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
 * The fused SDPA kernel against the composed kernel {@link Kernels#attention} takes for bf16 on
 * CPU, and against attention composed of DJL ops (Q·Kᵀ, softmax, ·V), on the mid-size benchmark
 * config's joint sequence (6 heads × 128, 1024 image + 128 text tokens). The DJL-ops form runs in
 * f32 only: DJL's softmax aborts the JVM on bf16.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true"})
public class AttentionBenchmark {
    @Param({"float32", "bfloat16"})
    public String dtype;

    NDManager manager;
    NDArray q;
    NDArray k;
    NDArray v;
    double scale = 1 / Math.sqrt(128);

    @Setup(Level.Trial)
    public void setUp() {
        HiCacheRuntime.bootstrap();
        manager = NDManager.newBaseManager();
        TensorType t = TensorType.parseCompute(dtype);
        Shape s = new Shape(1, 6, 1152, 128);
        q = Precision.cast(manager.randomNormal(s), t);
        k = Precision.cast(manager.randomNormal(s), t);
        v = Precision.cast(manager.randomNormal(s), t);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
    }

    @Benchmark
    public void sdpaKernel() {
        try (NDManager m = manager.newSubManager()) {
            Kernels.of(q).sdpa(q, k, v, scale).attach(m);
        }
    }

    @Benchmark
    public void composedKernel() {
        try (NDManager m = manager.newSubManager()) {
            Kernels.of(q).sdpaComposed(q, k, v, scale, Kernels.COMPOSED_BLOCK).attach(m);
        }
    }

    @Benchmark
    public void composedDjlOps() {
        if (!dtype.equals("float32")) {
            return; // DJL softmax aborts on bf16
        }
        try (NDManager m = manager.newSubManager()) {
            NDArray kt = k.transpose(0, 1, 3, 2);
            kt.attach(m);
            NDArray scores = q.matMul(kt);
            scores.attach(m);
            scores.mul(scale).softmax(-1).matMul(v);
        }
    }
}
