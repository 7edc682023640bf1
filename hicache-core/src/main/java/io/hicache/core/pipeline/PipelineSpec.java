package io.hicache.core.pipeline;

import ai.djl.Device;
import io.hicache.core.runtime.TensorType;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * What to load: a model (a directory in diffusers layout, a single-file checkpoint, or
 * {@code builtin:<name>}), on which device, in which compute dtype, and which components. A run
 * that receives precomputed embeddings and writes latents needs only the transformer and scheduler.
 */
public record PipelineSpec(String model, Device device, TensorType dtype, Set<Component> components) {
    /** Loadable parts of a text-to-image pipeline. */
    public enum Component {
        TEXT_ENCODERS,
        TRANSFORMER,
        VAE
    }

    public PipelineSpec {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(dtype, "dtype");
        if (dtype != TensorType.F32 && dtype != TensorType.BF16) {
            throw new IllegalArgumentException("compute dtype must be float32 or bfloat16, got " + dtype.displayName());
        }
        components = components.isEmpty() ? EnumSet.noneOf(Component.class) : EnumSet.copyOf(components);
    }

    /** Everything, for prompt → image. */
    public static PipelineSpec full(String model, Device device, TensorType dtype) {
        return new PipelineSpec(model, device, dtype, EnumSet.allOf(Component.class));
    }

    public boolean has(Component c) {
        return components.contains(c);
    }
}
