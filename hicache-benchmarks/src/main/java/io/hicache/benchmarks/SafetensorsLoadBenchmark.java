package io.hicache.benchmarks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.SafetensorsWriter;
import io.hicache.core.weights.WeightStore;
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
 * Loading every tensor of a ≥1 GB checkpoint (30 × [3072, 3072] f32 = 1.13 GB, or 56 such bf16
 * tensors = 1.06 GB) through {@link WeightStore} into its stored dtype: memory-mapped
 * (zero-copy where possible) and copying. The file is written once per trial and stays in the
 * page cache, so this measures the loader, not the disk.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true"})
public class SafetensorsLoadBenchmark {
    @Param({"F32", "BF16"})
    public String dtype;

    @Param({"MAP", "COPY"})
    public String mode;

    Path file;
    int tensors;

    @Setup(Level.Trial)
    public void write() throws IOException {
        HiCacheRuntime.bootstrap();
        TensorType t = TensorType.valueOf(dtype);
        tensors = t == TensorType.F32 ? 30 : 56;
        file = Files.createTempFile("hicache-bench-", ".safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = Precision.cast(m.randomNormal(new Shape(3072, 3072)), t);
            SafetensorsWriter w = new SafetensorsWriter();
            for (int i = 0; i < tensors; i++) {
                w.add("layer." + i + ".weight", x);
            }
            w.write(file);
        }
    }

    @TearDown(Level.Trial)
    public void delete() throws IOException {
        Files.deleteIfExists(file);
    }

    @Benchmark
    public long loadAll() throws IOException {
        TensorType t = TensorType.valueOf(dtype);
        long n = 0;
        try (WeightStore s = WeightStore.open(file, WeightStore.LoadMode.valueOf(mode));
                NDManager m = NDManager.newBaseManager()) {
            for (String name : s.names()) {
                n += s.get(name, t, m).getShape().size();
            }
        }
        return n;
    }
}
