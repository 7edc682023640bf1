package io.hicache.core.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicache.core.runtime.TensorType;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Named tensors a model loads its parameters from: a {@link WeightStore}, a scope of one, or an
 * adapter that renames or slices another source (e.g. a BFL single-file FLUX checkpoint seen with
 * diffusers names).
 */
public interface WeightSource {
    /** Where the tensors come from, for messages. */
    String describe();

    /** All names, sorted. */
    Set<String> names();

    default boolean contains(String name) {
        return names().contains(name);
    }

    /** The stored type of {@code name}. */
    TensorType type(String name);

    /** The shape of {@code name} as this source presents it. */
    long[] shape(String name);

    /** The tensor converted to {@code type} on {@code manager}'s device. */
    NDArray get(String name, TensorType type, NDManager manager) throws IOException;

    /** Names of {@code expected} this source lacks, in the given order. */
    default List<String> missing(Collection<String> expected) {
        List<String> out = new ArrayList<>();
        for (String n : expected) {
            if (!contains(n)) {
                out.add(n);
            }
        }
        return out;
    }

    /** Names this source holds that {@code expected} does not list, sorted. */
    default List<String> unexpected(Collection<String> expected) {
        Set<String> want = new LinkedHashSet<>(expected);
        List<String> out = new ArrayList<>();
        for (String n : names()) {
            if (!want.contains(n)) {
                out.add(n);
            }
        }
        return out;
    }

    /**
     * Checks names and shapes against what a model expects.
     *
     * @throws CheckpointMismatchException listing every missing, unexpected and wrongly shaped tensor
     */
    default void verify(Map<String, long[]> expectedShapes) throws CheckpointMismatchException {
        List<String> missing = missing(expectedShapes.keySet());
        List<String> unexpected = unexpected(expectedShapes.keySet());
        List<String> wrong = new ArrayList<>();
        for (Map.Entry<String, long[]> e : expectedShapes.entrySet()) {
            if (contains(e.getKey())) {
                long[] actual = shape(e.getKey());
                if (!Arrays.equals(actual, e.getValue())) {
                    wrong.add(e.getKey() + " has shape " + Arrays.toString(actual)
                            + ", expected " + Arrays.toString(e.getValue()));
                }
            }
        }
        if (!missing.isEmpty() || !unexpected.isEmpty() || !wrong.isEmpty()) {
            throw new CheckpointMismatchException(describe(), missing, unexpected, wrong);
        }
    }
}
