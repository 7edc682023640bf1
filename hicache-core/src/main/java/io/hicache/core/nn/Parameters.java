package io.hicache.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.WeightSource;
import java.io.IOException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model's loaded parameters, owned by one manager that {@link #close()} frees. Loading first
 * verifies the whole {@link ParameterSpec} against the source (names and shapes), so a wrong
 * checkpoint fails before any memory is spent, with the complete list of problems.
 */
public final class Parameters implements AutoCloseable {
    private final NDManager manager;
    private final Map<String, NDArray> tensors;
    private final String prefix;

    private Parameters(NDManager manager, Map<String, NDArray> tensors, String prefix) {
        this.manager = manager;
        this.tensors = tensors;
        this.prefix = prefix;
    }

    /**
     * Verifies and loads every parameter of {@code spec} in {@code dtype} on {@code parent}'s device,
     * into a new child manager of {@code parent}.
     *
     * @throws io.hicache.core.weights.CheckpointMismatchException when names or shapes differ
     */
    public static Parameters load(WeightSource source, ParameterSpec spec, TensorType dtype, NDManager parent)
            throws IOException {
        source.verify(spec.shapes());
        NDManager m = parent.newSubManager();
        Map<String, NDArray> loaded = new LinkedHashMap<>();
        try {
            for (String name : spec.shapes().keySet()) {
                NDArray x = source.get(name, dtype, m);
                x.setName(name);
                loaded.put(name, x);
            }
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
        return new Parameters(m, Collections.unmodifiableMap(loaded), "");
    }

    /** The parameter {@code name} (relative to this scope). */
    public NDArray get(String name) {
        NDArray x = tensors.get(prefix + name);
        if (x == null) {
            throw new IllegalArgumentException("no parameter " + prefix + name);
        }
        return x;
    }

    /** The parameter or null when absent (optional biases). */
    public NDArray find(String name) {
        return tensors.get(prefix + name);
    }

    /** A view of the parameters under {@code prefix}. */
    public Parameters scope(String prefix) {
        return new Parameters(manager, tensors, this.prefix + prefix);
    }

    /** Bytes held by all parameters. */
    public long bytes() {
        long b = 0;
        for (NDArray x : tensors.values()) {
            b += x.getShape().size() * TensorBytes.elementSize(x);
        }
        return b;
    }

    public int size() {
        return tensors.size();
    }

    public NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        if (prefix.isEmpty()) {
            manager.close();
        }
    }
}
