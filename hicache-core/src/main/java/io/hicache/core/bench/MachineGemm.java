package io.hicache.core.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.nn.Layers;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;

/**
 * The machine's achievable matrix-product speed, measured: the yardstick for how close a model
 * forward comes to the hardware. A linear layer of the transformer's typical shape
 * ([tokens, d] × [d, d]ᵀ) is timed after a warm-up; the best of several runs is reported.
 */
public final class MachineGemm {
    private MachineGemm() {}

    /** GFLOP/s of {@code tokens × d → d} linear layers in {@code dtype} on {@code device}. */
    public static double gflops(Device device, TensorType dtype, int tokens, int d, int runs) {
        try (NDManager m = NDManager.newBaseManager(device)) {
            NDArray x = Precision.cast(m.randomNormal(new Shape(tokens, d)), dtype);
            NDArray w = Precision.cast(m.randomNormal(new Shape(d, d)), dtype);
            long best = Long.MAX_VALUE;
            for (int i = 0; i < runs + 2; i++) {
                try (NDManager scope = m.newSubManager()) {
                    long start = System.nanoTime();
                    NDArray y = Layers.linear(x, w, null);
                    y.attach(scope);
                    // reading one element waits for the product on asynchronous devices
                    try (NDArray first = Precision.toFloat32(y.get(0, 0))) {
                        first.toFloatArray();
                    }
                    long t = System.nanoTime() - start;
                    if (i >= 2) {
                        best = Math.min(best, t);
                    }
                }
            }
            return 2.0 * tokens * d * d / best;
        }
    }
}
