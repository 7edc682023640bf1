package io.hicache.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.SafetensorsWriter;
import io.hicache.core.weights.TinyWeights;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Float32 master weights with Adam's moments, by diffusers name. The weights require gradients
 * and are named {@code w.<name>} so a {@link TrainingScript} call receives them as its Dict. A
 * checkpoint is one safetensors file holding {@code <name>}, {@code adam_m.<name>},
 * {@code adam_v.<name>} and the step in its metadata, written atomically.
 */
final class TrainableWeights implements AutoCloseable {
    static final String STEP_KEY = "step";
    private static final String M = "adam_m.";
    private static final String V = "adam_v.";
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPS = 1e-8;
    /** Shard size of exported model files: keeps each file of a shipped model small. */
    static final long MAX_SHARD_BYTES = 4L << 20;

    private final NDManager manager;
    private final Map<String, NDArray> weights = new LinkedHashMap<>();
    private final Map<String, NDArray> m = new LinkedHashMap<>();
    private final Map<String, NDArray> v = new LinkedHashMap<>();
    private final NDList named = new NDList();
    private int step;

    private TrainableWeights(NDManager manager) {
        this.manager = manager;
    }

    /** The tensors of {@code source} whose names pass {@code keep}, as float32, moments zero. */
    static TrainableWeights from(WeightSource source, Predicate<String> keep, NDManager parent) throws IOException {
        TrainableWeights t = new TrainableWeights(parent.newSubManager());
        for (String name : source.names().stream().sorted().toList()) {
            if (keep.test(name)) {
                t.put(name, source.get(name, TensorType.F32, t.manager), null, null);
            }
        }
        return t;
    }

    /** Copies of the weights of {@code from} whose names pass {@code keep}, moments zero. */
    static TrainableWeights copyOf(TrainableWeights from, Predicate<String> keep, NDManager parent) {
        TrainableWeights t = new TrainableWeights(parent.newSubManager());
        from.weights.forEach((name, x) -> {
            if (keep.test(name)) {
                NDArray c = x.stopGradient().duplicate();
                c.attach(t.manager);
                t.put(name, c, null, null);
            }
        });
        return t;
    }

    /** Reads a checkpoint written by {@link #save}. */
    static TrainableWeights load(Path checkpoint, NDManager parent) throws IOException {
        TrainableWeights t = new TrainableWeights(parent.newSubManager());
        try (WeightStore store = WeightStore.open(checkpoint)) {
            for (String name : store.names().stream().sorted().toList()) {
                if (!name.startsWith(M) && !name.startsWith(V)) {
                    t.put(name, store.get(name, TensorType.F32, t.manager), store.get(M + name, TensorType.F32, t.manager),
                            store.get(V + name, TensorType.F32, t.manager));
                }
            }
            String s = store.metadata().get(STEP_KEY);
            t.step = s == null ? 0 : Integer.parseInt(s);
        }
        return t;
    }

    private void put(String name, NDArray w, NDArray mm, NDArray vv) {
        w.setRequiresGradient(true);
        w.setName("w." + name);
        weights.put(name, w);
        m.put(name, mm != null ? mm : manager.zeros(w.getShape(), DataType.FLOAT32));
        v.put(name, vv != null ? vv : manager.zeros(w.getShape(), DataType.FLOAT32));
        named.add(w);
    }

    NDList named() {
        return named;
    }

    Map<String, NDArray> weights() {
        return weights;
    }

    int step() {
        return step;
    }

    long parameterCount() {
        return weights.values().stream().mapToLong(x -> x.getShape().size()).sum();
    }

    /**
     * One Adam step (bias-corrected, eps outside the root) at learning rate {@code lr}, after
     * scaling the gradients so their global L2 norm is at most {@code clip}; then the gradients are
     * zeroed. Returns the gradient norm before clipping. Runs outside autograd, so Java scalars are safe.
     */
    double adam(double lr, double clip) {
        step++;
        double c1 = 1 - Math.pow(BETA1, step);
        double c2 = 1 - Math.pow(BETA2, step);
        try (NDManager tmp = manager.newSubManager()) {
            Map<String, NDArray> grads = new LinkedHashMap<>();
            double sq = 0;
            for (Map.Entry<String, NDArray> e : weights.entrySet()) {
                NDArray g = e.getValue().getGradient();
                g.attach(tmp); // the wrapper, not the weight's gradient, closes with tmp
                grads.put(e.getKey(), g);
                sq += g.square().sum().getFloat();
            }
            double norm = Math.sqrt(sq);
            double scale = norm > clip ? clip / norm : 1;
            for (Map.Entry<String, NDArray> e : weights.entrySet()) {
                String name = e.getKey();
                NDArray gs = grads.get(name).mul(scale);
                m.get(name).muli(BETA1).addi(gs.mul(1 - BETA1));
                v.get(name).muli(BETA2).addi(gs.square().muli(1 - BETA2));
                NDArray corrected = v.get(name).div(c2);
                corrected.attach(tmp); // results join their first operand's manager: keep them in tmp
                NDArray denominator = corrected.sqrt().addi(EPS);
                NDArray update = m.get(name).div(c1);
                update.attach(tmp);
                update.divi(denominator).muli(lr);
                e.getValue().subi(update);
                JniUtils.zeroGrad((PtNDArray) e.getValue());
            }
            return norm;
        }
    }

    /** Writes weights, moments and the step atomically to {@code file}. */
    void save(Path file) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter().metadata(STEP_KEY, Integer.toString(step));
        for (String name : weights.keySet()) {
            w.add(name, weights.get(name), TensorType.F32);
            w.add(M + name, m.get(name), TensorType.F32);
            w.add(V + name, v.get(name), TensorType.F32);
        }
        w.write(file);
    }

    /**
     * Writes the weights of {@code parts} in {@code dtype} as the model file {@code <stem>.safetensors}
     * in {@code dir}, or, above {@link #MAX_SHARD_BYTES}, as shards with an index as transformers
     * saves large checkpoints (both layouts load alike). A later part's tensor wins.
     */
    static void export(Path dir, String stem, TensorType dtype, TrainableWeights... parts) throws IOException {
        Map<String, NDArray> all = new java.util.TreeMap<>();
        for (TrainableWeights p : parts) {
            all.putAll(p.weights);
        }
        TinyWeights out = new TinyWeights(0);
        long bytes = 0;
        for (Map.Entry<String, NDArray> e : all.entrySet()) {
            out.put(e.getKey(), e.getValue().toFloatArray(), e.getValue().getShape().getShape());
            bytes += e.getValue().getShape().size() * dtype.bytes();
        }
        int shards = (int) ((bytes + MAX_SHARD_BYTES - 1) / MAX_SHARD_BYTES);
        if (shards <= 1) {
            out.write(dir.resolve(stem + ".safetensors"), dtype);
        } else {
            out.writeSharded(dir, stem, shards, dtype);
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
