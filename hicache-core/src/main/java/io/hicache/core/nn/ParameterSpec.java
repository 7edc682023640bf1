package io.hicache.core.nn;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The parameter names and shapes a model expects, built from its config. Checked against a
 * checkpoint before anything is loaded, so a mismatch reports every problem at once.
 */
public final class ParameterSpec {
    private final Map<String, long[]> shapes = new LinkedHashMap<>();

    public ParameterSpec add(String name, long... shape) {
        if (shapes.put(name, shape.clone()) != null) {
            throw new IllegalArgumentException("parameter declared twice: " + name);
        }
        return this;
    }

    /** {@code prefix.weight} [out, in] and, when {@code bias}, {@code prefix.bias} [out]. */
    public ParameterSpec linear(String prefix, long out, long in, boolean bias) {
        add(prefix + ".weight", out, in);
        if (bias) {
            add(prefix + ".bias", out);
        }
        return this;
    }

    /** A norm's {@code prefix.weight} [dim] and, when {@code bias}, {@code prefix.bias} [dim]. */
    public ParameterSpec norm(String prefix, long dim, boolean bias) {
        add(prefix + ".weight", dim);
        if (bias) {
            add(prefix + ".bias", dim);
        }
        return this;
    }

    /** {@code prefix.weight} [out, in, k, k] and, when {@code bias}, {@code prefix.bias} [out]. */
    public ParameterSpec conv2d(String prefix, long out, long in, long kernel, boolean bias) {
        add(prefix + ".weight", out, in, kernel, kernel);
        if (bias) {
            add(prefix + ".bias", out);
        }
        return this;
    }

    /** Adds every entry of {@code child} under {@code prefix}. */
    public ParameterSpec nest(String prefix, ParameterSpec child) {
        child.shapes.forEach((n, s) -> add(prefix + n, s));
        return this;
    }

    public Map<String, long[]> shapes() {
        return Collections.unmodifiableMap(shapes);
    }

    public int size() {
        return shapes.size();
    }

    /** Total number of parameters. */
    public long count() {
        long n = 0;
        for (long[] s : shapes.values()) {
            long p = 1;
            for (long d : s) {
                p *= d;
            }
            n += p;
        }
        return n;
    }
}
