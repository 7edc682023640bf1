package io.hicache.benchmarks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.cache.Basis;
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
 * One forecast on a FLUX-size site ([4096, 3072], a double block's image stream at 1024²) with a
 * stack of three orders (max order 2), against the memory-bound floor: one copy of the site.
 * Bytes moved: forecast reads 3 tensors and writes 1; the copy reads 1 and writes 1.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true"})
public class ForecastBenchmark {
    @Param({"float32", "bfloat16"})
    public String dtype;

    NDManager manager;
    NDArray stack;
    NDArray site;
    double[] alpha;
    Kernels kernels;

    @Setup(Level.Trial)
    public void setUp() {
        HiCacheRuntime.bootstrap();
        manager = NDManager.newBaseManager();
        TensorType t = TensorType.parseCompute(dtype);
        stack = Precision.cast(manager.randomNormal(new Shape(3, 4096, 3072)), t);
        site = Precision.cast(manager.randomNormal(new Shape(4096, 3072)), t);
        alpha = Basis.hermite(0.5, 2).coefficients(3, 3);
        kernels = Kernels.of(stack);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
    }

    /** The cache's forecast: one [1,3]×[3,n] product. */
    @Benchmark
    public float forecastWeightedSum() {
        try (NDManager m = manager.newSubManager()) {
            return last(kernels.weightedSum(stack, alpha, m));
        }
    }

    /**
     * A full step's derivative update of the same site, in place: f and two differences divided
     * by the step distance (5), so repeated updates keep the stack bounded. Reads f and the stack,
     * writes the stack.
     */
    @Benchmark
    public float derivativeUpdateInPlace() {
        kernels.derivativeUpdateInPlace(site, stack, 5);
        return last(site);
    }

    /** Reads the last element: the result is really there (and the JIT cannot drop the work). */
    static float last(NDArray x) {
        long[] s = x.getShape().getShape();
        try (NDArray e = x.get(s[0] - 1, s[1] - 1); NDArray f = Precision.toFloat32(e)) {
            return f.toFloatArray()[0];
        }
    }

    /** The same sum as separate element-wise ops, as a naive port would write it. */
    @Benchmark
    public float forecastChainedOps() {
        try (NDManager m = manager.newSubManager()) {
            NDArray d0 = stack.get(0);
            NDArray d1 = stack.get(1);
            NDArray d2 = stack.get(2);
            d0.attach(m);
            d1.attach(m);
            d2.attach(m);
            return last(d0.add(d1.mul(alpha[1])).add(d2.mul(alpha[2])));
        }
    }

    /** Memory-bound floor: copying the site once (read 1, write 1). */
    @Benchmark
    public float copySite() {
        try (NDManager m = manager.newSubManager()) {
            NDArray c = site.duplicate();
            c.attach(m);
            return last(c);
        }
    }
}
