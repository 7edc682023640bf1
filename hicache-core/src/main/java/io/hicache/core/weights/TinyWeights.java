package io.hicache.core.weights;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.util.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.ToDoubleFunction;

/**
 * Seeded random weights for tiny models, written as real safetensors checkpoints (one file or
 * transformers-style shards with an index). Values come from {@link Random} on the host, so a seed
 * gives the same checkpoint on every machine.
 */
public final class TinyWeights {
    /** Norm weights: ones with a little noise, so that tests notice a weight left unapplied. */
    public static final double NORM_NOISE = 0.1;

    private final Random random;
    private final Map<String, long[]> shapes = new LinkedHashMap<>();
    private final Map<String, float[]> values = new LinkedHashMap<>();

    public TinyWeights(long seed) {
        this.random = new Random(seed);
    }

    /** Adds N(mean, std) values for {@code name}. */
    public TinyWeights normal(String name, double mean, double std, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (mean + std * random.nextGaussian());
        }
        if (shapes.put(name, shape.clone()) != null) {
            throw new IllegalArgumentException("tensor written twice: " + name);
        }
        values.put(name, v);
        return this;
    }

    /** Adds given values for {@code name} (e.g. trained weights), to be written with the others. */
    public TinyWeights put(String name, float[] v, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != v.length) {
            throw new IllegalArgumentException(name + ": " + v.length + " values for shape " + java.util.Arrays.toString(shape));
        }
        if (shapes.put(name, shape.clone()) != null) {
            throw new IllegalArgumentException("tensor written twice: " + name);
        }
        values.put(name, v.clone());
        return this;
    }

    /** Replaces the values of a tensor already added, keeping its shape. */
    public TinyWeights replace(String name, float[] v) {
        float[] old = values.get(name);
        if (old == null || old.length != v.length) {
            throw new IllegalArgumentException(name + ": " + (old == null ? "not added" : old.length + " values, given "
                    + v.length));
        }
        values.put(name, v.clone());
        return this;
    }

    /**
     * Adds every tensor of {@code spec} in order: names ending in {@code .weight} of 1-D shape are
     * norm weights (1 + N(0, {@link #NORM_NOISE})), other {@code .bias} tensors N(0, 0.02), and the
     * rest N(0, std(name)).
     */
    public TinyWeights fill(ParameterSpec spec, ToDoubleFunction<String> std) {
        for (Map.Entry<String, long[]> e : spec.shapes().entrySet()) {
            String name = e.getKey();
            long[] shape = e.getValue();
            if (name.endsWith(".weight") && shape.length == 1) {
                normal(name, 1, NORM_NOISE, shape);
            } else if (name.endsWith(".bias")) {
                normal(name, 0, 0.02, shape);
            } else {
                normal(name, 0, std.applyAsDouble(name), shape);
            }
        }
        return this;
    }

    /** Number of tensors added. */
    public int size() {
        return shapes.size();
    }

    /** Writes all tensors, converted to {@code dtype}, into {@code file}. */
    public void write(Path file, TensorType dtype) throws IOException {
        write(file, new ArrayList<>(shapes.keySet()), dtype);
    }

    /**
     * Writes the tensors split over {@code shards} files {@code <stem>-0000k-of-0000n.safetensors}
     * plus {@code <stem>.safetensors.index.json}, as transformers saves large checkpoints.
     */
    public void writeSharded(Path dir, String stem, int shards, TensorType dtype) throws IOException {
        List<String> names = new ArrayList<>(shapes.keySet());
        if (shards < 1 || shards > names.size()) {
            throw new IllegalArgumentException("cannot split " + names.size() + " tensors into " + shards + " shards");
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode index = json.createObjectNode();
        long total = 0;
        ObjectNode map = json.createObjectNode();
        for (int s = 0; s < shards; s++) {
            String file = String.format("%s-%05d-of-%05d.safetensors", stem, s + 1, shards);
            List<String> part = names.subList(s * names.size() / shards, (s + 1) * names.size() / shards);
            write(dir.resolve(file), part, dtype);
            for (String n : part) {
                map.put(n, file);
                total += values.get(n).length * (long) dtype.bytes();
            }
        }
        index.putObject("metadata").put("total_size", total);
        index.set("weight_map", map);
        AtomicFiles.writeString(dir.resolve(stem + ".safetensors.index.json"), index.toPrettyString());
    }

    private void write(Path file, List<String> names, TensorType dtype) throws IOException {
        if (!dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("weights must be stored as floats, not " + dtype);
        }
        HiCacheRuntime.bootstrap();
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), HiCacheRuntime.ENGINE)) {
            SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
            for (String n : names) {
                w.add(n, m.create(values.get(n), new Shape(shapes.get(n))), dtype);
            }
            w.write(file);
        }
    }
}
