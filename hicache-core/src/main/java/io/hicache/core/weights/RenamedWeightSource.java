package io.hicache.core.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.TensorType;
import java.io.IOException;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Another source seen under new names: each visible name maps to one tensor of the base, optionally
 * reshaped (same element count, e.g. a 1×1 convolution kernel [C, C, 1, 1] presented as a Linear
 * weight [C, C]). Only mapped names are visible, so an adapter decides per tensor whether to rename,
 * keep (map a name to itself, so that strays still show up as "unexpected" in
 * {@link #verify(Map)}) or hide it (a duplicate or a buffer the model does not use).
 */
public final class RenamedWeightSource implements WeightSource {
    private final WeightSource base;
    private final Map<String, String> sourceOf;
    private final Map<String, long[]> shapeOf;

    private RenamedWeightSource(WeightSource base, Map<String, String> sourceOf, Map<String, long[]> shapeOf) {
        this.base = base;
        this.sourceOf = Collections.unmodifiableMap(sourceOf);
        this.shapeOf = shapeOf;
    }

    public static Builder over(WeightSource base) {
        return new Builder(base);
    }

    /** Collects the mapping; names are checked against the base as they are added. */
    public static final class Builder {
        private final WeightSource base;
        private final Map<String, String> sourceOf = new TreeMap<>();
        private final Map<String, long[]> shapeOf = new LinkedHashMap<>();

        private Builder(WeightSource base) {
            this.base = base;
        }

        /** Shows the base tensor {@code source} as {@code target}. */
        public Builder map(String target, String source) {
            if (!base.contains(source)) {
                throw new IllegalArgumentException(base.describe() + " has no tensor '" + source + "'");
            }
            if (sourceOf.put(target, source) != null) {
                throw new IllegalArgumentException("two tensors mapped to '" + target + "'");
            }
            return this;
        }

        /** Shows {@code source} as {@code target} with another shape of the same element count. */
        public Builder map(String target, String source, long... shape) {
            map(target, source);
            long[] from = base.shape(source);
            if (numel(from) != numel(shape)) {
                sourceOf.remove(target);
                throw new IllegalArgumentException("cannot show " + source + Arrays.toString(from) + " as "
                        + target + Arrays.toString(shape));
            }
            shapeOf.put(target, shape.clone());
            return this;
        }

        public RenamedWeightSource build() {
            return new RenamedWeightSource(base, new TreeMap<>(sourceOf), new LinkedHashMap<>(shapeOf));
        }
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public String describe() {
        return base.describe();
    }

    @Override
    public Set<String> names() {
        return sourceOf.keySet();
    }

    @Override
    public boolean contains(String name) {
        return sourceOf.containsKey(name);
    }

    private String source(String name) {
        String s = sourceOf.get(name);
        if (s == null) {
            throw new IllegalArgumentException(describe() + " has no tensor '" + name + "'");
        }
        return s;
    }

    /** The base name behind {@code name}. */
    public String sourceName(String name) {
        return source(name);
    }

    @Override
    public TensorType type(String name) {
        return base.type(source(name));
    }

    @Override
    public long[] shape(String name) {
        long[] s = shapeOf.get(name);
        return s != null ? s.clone() : base.shape(source(name));
    }

    @Override
    public NDArray get(String name, TensorType type, NDManager manager) throws IOException {
        NDArray x = base.get(source(name), type, manager);
        long[] s = shapeOf.get(name);
        if (s == null) {
            return x;
        }
        NDArray reshaped = x.reshape(new Shape(s));
        x.close(); // the view keeps the storage alive
        return reshaped;
    }
}
