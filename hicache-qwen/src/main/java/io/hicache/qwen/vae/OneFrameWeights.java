package io.hicache.qwen.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.CheckpointMismatchException;
import io.hicache.core.weights.WeightSource;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * One side of a Qwen-Image VAE checkpoint (the decoder with post_quant_conv, or the encoder with
 * quant_conv) as the one-frame (2-D) model reads it.
 *
 * <p><b>Why the last temporal tap is exact.</b> A {@code QwenImageCausalConv3d} with kernel
 * kt × k × k pads time with kt − 1 zero frames in front and none behind, then convolves without
 * temporal padding. For a single frame (T = 1) the padded input is [0, …, 0, x] and the one output
 * frame is Σ_τ W[:, :, τ] ⊛ input[τ] = W[:, :, kt − 1] ⊛ x: every tap but the last multiplies zeros.
 * So the 3-D convolution equals the 2-D convolution with the last tap W[:, :, kt − 1] (tap 2 of a
 * 3×3×3 kernel, tap 0 of a 1×1×1 one). Frame 0 is processed with an empty feature cache, which is
 * what the zero padding stands for. The resamplers' {@code time_conv} never runs on frame 0 (the
 * decoder's upsamplers mark the cache and skip it; the encoder's downsamplers store the frame and skip
 * it), so it is not read at all.
 *
 * <p>Presented shapes: 3-D convolution weights [out, in, k, k] (their last tap), RMS-norm
 * {@code gamma} [C, 1, 1] (broadcast over [B, C, H, W]); everything else as stored. The checkpoint is
 * verified against the stored layout first (names and shapes of the side read; nothing unknown), so
 * the decoder loads from a file without the encoder, and the encoder is checked only when asked for.
 */
public final class OneFrameWeights implements WeightSource {
    private final WeightSource base;
    private final String side;
    private final Map<String, long[]> shapes;

    private OneFrameWeights(WeightSource base, String side, Map<String, long[]> shapes) {
        this.base = base;
        this.side = side;
        this.shapes = shapes;
    }

    /**
     * The decoder view of {@code base} for {@code config}: post_quant_conv and decoder.*.
     *
     * @throws CheckpointMismatchException when decoder tensors are missing or misshapen, or the file
     *     holds tensors no Qwen-Image VAE of this config has
     */
    public static OneFrameWeights decoder(WeightSource base, QwenVaeConfig config) throws CheckpointMismatchException {
        return of(base, config, "decoder", QwenVaeLayout.decoderSide(config));
    }

    /**
     * The encoder view of {@code base} for {@code config}: encoder.* and quant_conv.
     *
     * @throws CheckpointMismatchException when encoder tensors are missing or misshapen (a decoder-only
     *     file), or the file holds tensors no Qwen-Image VAE of this config has
     */
    public static OneFrameWeights encoder(WeightSource base, QwenVaeConfig config) throws CheckpointMismatchException {
        return of(base, config, "encoder", QwenVaeLayout.encoderSide(config));
    }

    private static OneFrameWeights of(WeightSource base, QwenVaeConfig config, String side, ParameterSpec read)
            throws CheckpointMismatchException {
        Set<String> known = QwenVaeLayout.stored(config).shapes().keySet();
        List<String> missing = new ArrayList<>();
        List<String> wrong = new ArrayList<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : read.shapes().entrySet()) {
            String name = e.getKey();
            if (!base.contains(name)) {
                missing.add(name);
            } else if (!Arrays.equals(base.shape(name), e.getValue())) {
                wrong.add(name + " has shape " + Arrays.toString(base.shape(name)) + ", expected "
                        + Arrays.toString(e.getValue()));
            } else if (!name.contains(".time_conv.")) {
                shapes.put(name, oneFrameShape(name, e.getValue()));
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (String n : base.names()) {
            if (!known.contains(n)) {
                unexpected.add(n);
            }
        }
        if (!missing.isEmpty() || !wrong.isEmpty() || !unexpected.isEmpty()) {
            throw new CheckpointMismatchException(base.describe() + " (the VAE " + side + ")", missing, unexpected,
                    wrong);
        }
        return new OneFrameWeights(base, side, Collections.unmodifiableMap(shapes));
    }

    /** The presented tensors as a spec for {@link io.hicache.core.nn.Parameters#load}. */
    ParameterSpec spec() {
        ParameterSpec s = new ParameterSpec();
        shapes.forEach(s::add);
        return s;
    }

    private static long[] oneFrameShape(String name, long[] stored) {
        if (name.endsWith(".gamma")) {
            return new long[] {stored[0], 1, 1};
        }
        if (stored.length == 5) {
            return new long[] {stored[0], stored[1], stored[3], stored[4]};
        }
        return stored.clone();
    }

    @Override
    public String describe() {
        return base.describe();
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(new TreeSet<>(shapes.keySet()));
    }

    @Override
    public boolean contains(String name) {
        return shapes.containsKey(name);
    }

    @Override
    public TensorType type(String name) {
        require(name);
        return base.type(name);
    }

    @Override
    public long[] shape(String name) {
        return require(name).clone();
    }

    private long[] require(String name) {
        long[] s = shapes.get(name);
        if (s == null) {
            throw new IllegalArgumentException(describe() + " has no " + side + " tensor '" + name + "'");
        }
        return s;
    }

    @Override
    public NDArray get(String name, TensorType type, NDManager manager) throws IOException {
        long[] s = require(name);
        NDArray x = base.get(name, type, manager);
        long[] stored = x.getShape().getShape();
        if (stored.length == 5) {
            try (NDArray tap = x.get(new NDIndex(":, :, " + (stored[2] - 1)))) {
                NDArray out = tap.duplicate();
                x.close();
                return out;
            }
        }
        if (name.endsWith(".gamma")) {
            NDArray reshaped = x.reshape(s);
            x.close(); // the view keeps the storage alive
            return reshaped;
        }
        return x;
    }
}
