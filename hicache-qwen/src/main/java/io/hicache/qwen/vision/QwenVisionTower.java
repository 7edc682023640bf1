package io.hicache.qwen.vision;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.nn.Layers;
import io.hicache.core.nn.ParameterSpec;
import io.hicache.core.nn.Parameters;
import io.hicache.core.nn.Scopes;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.Checkpoints;
import io.hicache.core.weights.RenamedWeightSource;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import io.hicache.qwen.text.QwenTextEncoder.Layout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Qwen2.5-VL vision tower ({@code Qwen2_5_VisionTransformerPretrainedModel}), which turns the
 * pixel patches of one image into the language model's image-token embeddings:
 * <ol>
 * <li>{@code patch_embed}: a Conv3d whose kernel equals its stride, i.e. a Linear without bias of
 * each patch vector (C·T·p·p = 1176 values) by the weight flattened to [hidden, C·T·p·p];
 * <li>the merge units are permuted so that each attention window is contiguous
 * ({@link VisionWindows}), with the 2-D rotary tables ({@link VisionRope}) in the same order;
 * <li>blocks {@code x += proj(Attn(RoPE(q), RoPE(k), v))} on {@code norm1(x)} (qkv with bias,
 * scale 1/√head), then {@code x += down(SiLU(gate(n)) ⊙ up(n))} on {@code n = norm2(x)} (all with
 * biases), RMSNorm eps 1e-6; blocks in {@code fullatt_block_indexes} attend within each frame,
 * the others within their window;
 * <li>the merger: RMSNorm {@code ln_q} per patch, the merge² patches of a unit concatenated,
 * {@code mlp.0}, exact (erf) GELU, {@code mlp.2};
 * <li>the window permutation undone, so output row u is merge unit u in the processor's order
 * (frame, merge row, merge column).
 * </ol>
 *
 * <p>Window attention runs as exact block-diagonal attention: the segments of the permuted
 * sequence are cut out and attended separately, as transformers' non-flash path does with
 * {@code cu_seqlens}, with windows of equal size batched into one call. An additive mask over the
 * whole sequence would give the same result but cost full attention in every windowed block (28
 * of 32): for a 1036² image (74 × 74 = 5476 patches, windows of at most 64) that is 5476² scores
 * per head instead of at most 5476 × 64, plus a 5476² mask.
 *
 * <p>The weights are read from the text encoder's checkpoint, named {@code visual.*} (the legacy
 * layout Qwen-Image ships) or {@code model.visual.*} (newer transformers); see {@link Layout}.
 */
public final class QwenVisionTower implements AutoCloseable {
    /** The prefix of {@link #spec}'s names, which are the legacy ones. */
    static final String CANONICAL = "visual.";
    static final String PATCH_EMBED = "visual.patch_embed.proj.weight";
    /** Qwen2RMSNorm's epsilon in the vision blocks and the merger (fixed in the model code, not in the config). */
    static final double EPS = 1e-6;
    static final String HOW_TO_GET = "expected text_encoder/ of the Hugging Face repository Qwen/Qwen-Image-Edit"
            + " (config.json with a vision_config, the safetensors shards holding visual.*), or a tiny model written"
            + " by `hicache init-tiny qwen-image`";

    private final QwenVisionConfig config;
    private final TensorType dtype;
    private final Parameters params;
    private final Parameters[] blocks;
    /** The Conv3d kernel [hidden, C, T, p, p] viewed as a Linear weight [hidden, C·T·p·p]. */
    private final NDArray patchEmbed;
    private final Kernels kernels;

    private QwenVisionTower(QwenVisionConfig config, TensorType dtype, Parameters params) {
        this.config = config;
        this.dtype = dtype;
        this.params = params;
        this.blocks = new Parameters[config.depth()];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = params.scope(CANONICAL + "blocks." + i + ".");
        }
        // a view owned by the weights' manager, made once and freed with them
        this.patchEmbed = params.get(PATCH_EMBED).reshape(config.hiddenSize(), config.patchDim());
        this.kernels = Kernels.on(params.manager().getDevice());
    }

    /**
     * Loads the vision tower of {@code text_encoder/}: the {@code vision_config} of its config.json
     * and the {@code visual.*} tensors of its safetensors weights, on {@code manager}'s device.
     */
    public static QwenVisionTower load(Path dir, TensorType dtype, NDManager manager) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "missing text encoder folder: " + HOW_TO_GET);
        }
        QwenVisionConfig config = QwenVisionConfig.read(dir);
        try (WeightStore store = WeightStore.open(dir)) {
            return load(store, config, dtype, manager);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(e.getFile(), null, e.getReason() + ": " + HOW_TO_GET);
        }
    }

    /**
     * Checks the vision tower of {@code text_encoder/} from its config and the safetensors headers
     * alone: every {@code visual.*} tensor's name and shape, in either naming layout.
     *
     * @return the config
     */
    public static QwenVisionConfig check(Path dir) throws IOException {
        QwenVisionConfig config = QwenVisionConfig.read(dir);
        try (WeightStore store = WeightStore.open(dir)) {
            visionTower(store, config);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(e.getFile(), null, e.getReason() + ": " + HOW_TO_GET);
        }
        return config;
    }

    /** Loads the vision tower of {@code config} from {@code source} (a text encoder checkpoint, either layout). */
    public static QwenVisionTower load(WeightSource source, QwenVisionConfig config, TensorType dtype,
            NDManager manager) throws IOException {
        if (dtype != TensorType.F32 && dtype != TensorType.BF16) {
            throw new IllegalArgumentException("compute dtype must be float32 or bfloat16, got " + dtype.displayName());
        }
        return new QwenVisionTower(config, dtype, Parameters.load(visionTower(source, config), spec(config), dtype,
                manager));
    }

    /**
     * {@code source}'s vision tower seen with {@link #spec}'s names, after checking every tensor
     * under its prefix against the spec: a missing, extra or misshapen tensor is reported with the
     * name the checkpoint uses.
     */
    static WeightSource visionTower(WeightSource source, QwenVisionConfig config) throws IOException {
        String prefix = prefixOf(source);
        Checkpoints.requireBlocks(source, prefix + "blocks.", config.depth(), "vision_config.depth = " + config.depth());
        Map<String, long[]> storedShapes = new LinkedHashMap<>();
        RenamedWeightSource.Builder canonical = RenamedWeightSource.over(source);
        for (Map.Entry<String, long[]> e : spec(config).shapes().entrySet()) {
            String stored = prefix + e.getKey().substring(CANONICAL.length());
            storedShapes.put(stored, e.getValue());
            if (source.contains(stored)) {
                canonical.map(e.getKey(), stored);
            }
        }
        RenamedWeightSource.Builder underPrefix = RenamedWeightSource.over(source);
        for (String name : source.names()) {
            if (name.startsWith(prefix)) {
                underPrefix.map(name, name);
            }
        }
        underPrefix.build().verify(storedShapes);
        return canonical.build();
    }

    /** The prefix of the vision tower's tensors in {@code source}: {@code visual.} or {@code model.visual.}. */
    static String prefixOf(WeightSource source) throws InvalidModelException {
        List<String> found = new ArrayList<>();
        for (Layout l : Layout.values()) {
            if (source.names().stream().anyMatch(n -> n.startsWith(l.visual()))) {
                found.add(l.visual());
            }
        }
        if (found.size() != 1) {
            throw new InvalidModelException(source.describe() + (found.isEmpty()
                    ? ": no Qwen2.5-VL vision tower in it (no tensor named " + Layout.LEGACY.visual() + "* or "
                            + Layout.NESTED.visual() + "*)"
                    : ": holds two vision towers, " + String.join("* and ", found) + "*"));
        }
        return found.get(0);
    }

    /** Every parameter of the vision tower, with legacy names ({@code visual.*}). */
    public static ParameterSpec spec(QwenVisionConfig c) {
        int hidden = c.hiddenSize();
        ParameterSpec s = new ParameterSpec().add(PATCH_EMBED, hidden, c.inChannels(), c.temporalPatchSize(),
                c.patchSize(), c.patchSize());
        for (int i = 0; i < c.depth(); i++) {
            String b = CANONICAL + "blocks." + i + ".";
            s.norm(b + "norm1", hidden, false).norm(b + "norm2", hidden, false)
                    .linear(b + "attn.qkv", 3L * hidden, hidden, true)
                    .linear(b + "attn.proj", hidden, hidden, true)
                    .linear(b + "mlp.gate_proj", c.intermediateSize(), hidden, true)
                    .linear(b + "mlp.up_proj", c.intermediateSize(), hidden, true)
                    .linear(b + "mlp.down_proj", hidden, c.intermediateSize(), true);
        }
        long merged = (long) c.mergeUnit() * hidden;
        return s.norm(CANONICAL + "merger.ln_q", hidden, false)
                .linear(CANONICAL + "merger.mlp.0", merged, merged, true)
                .linear(CANONICAL + "merger.mlp.2", c.outHiddenSize(), merged, true);
    }

    public QwenVisionConfig config() {
        return config;
    }

    public TensorType dtype() {
        return dtype;
    }

    /** Bytes held by the weights (all freed by {@link #close()}). */
    public long parameterBytes() {
        return params.bytes();
    }

    /**
     * Pixel patches [gridT·gridH·gridW, C·T·p·p] of one image or video (any float type, in the
     * processor's order: frames, merge units row-major, the patches of a unit row-major) → image
     * token embeddings [gridT·(gridH/merge)·(gridW/merge), out_hidden_size] in the compute dtype,
     * row u for merge unit u in the same order, attached to the manager of {@code patches}.
     *
     * @param gridT frames of patches (1 for an image)
     * @param gridH patch rows, a multiple of spatial_merge_size
     * @param gridW patch columns, a multiple of spatial_merge_size
     */
    public NDArray encode(NDArray patches, int gridT, int gridH, int gridW) {
        checkPatches(patches, gridT, gridH, gridW);
        int merge = config.spatialMergeSize();
        int unitPatches = config.mergeUnit();
        VisionWindows.Partition windows = VisionWindows.groupedBySize(
                VisionWindows.windows(gridT, gridH, gridW, merge, config.windowUnits()), unitPatches,
                (gridH / merge) * (gridW / merge));
        int[] patchOrder = VisionWindows.patchOrder(windows.unitOrder(), unitPatches);
        List<VisionWindows.Run> windowRuns = VisionWindows.runs(windows.cuSeqlens());
        List<VisionWindows.Run> frameRuns = VisionWindows.runs(VisionWindows.frames(gridT, gridH, gridW));
        float[][] angles = VisionRope.angles(VisionRope.patchPositions(gridT, gridH, gridW, merge), patchOrder,
                config.headDim());
        int[] unitsBack = VisionWindows.inverse(windows.unitOrder());
        return Scopes.apply(patches, in -> {
            NDManager m = in.getManager();
            NDArray x = Layers.linear(Precision.cast(in, dtype), patchEmbed, null);
            x = x.gather(rowIndex(patchOrder, config.hiddenSize(), m), 0);
            NDArray[] rope = VisionRope.tables(angles, m);
            for (int i = 0; i < blocks.length; i++) {
                Parameters p = blocks[i];
                List<VisionWindows.Run> runs = config.isFullAttention(i) ? frameRuns : windowRuns;
                x = Scopes.step(x, h -> block(p, h, rope[0], rope[1], runs));
            }
            NDArray merged = merger(x);
            return merged.gather(rowIndex(unitsBack, config.outHiddenSize(), m), 0);
        });
    }

    /** One vision block on x [L, hidden] in the permuted order. */
    NDArray block(Parameters p, NDArray x, NDArray cos, NDArray sin, List<VisionWindows.Run> runs) {
        NDArray h = kernels.rmsNorm(x, p.get("norm1.weight"), EPS);
        x = x.add(attention(p.scope("attn."), h, cos, sin, runs));
        h = kernels.rmsNorm(x, p.get("norm2.weight"), EPS);
        NDArray gate = kernels.silu(Layers.linear(h, p, "mlp.gate_proj"));
        return x.add(Layers.linear(gate.mul(Layers.linear(h, p, "mlp.up_proj")), p, "mlp.down_proj"));
    }

    /**
     * Block-diagonal self-attention of h [L, hidden]: each run of equal segments is reshaped to
     * [segments, heads, length, head] and attended in one call, so no token sees another segment.
     */
    NDArray attention(Parameters p, NDArray h, NDArray cos, NDArray sin, List<VisionWindows.Run> runs) {
        long length = h.getShape().get(0);
        int heads = config.numHeads();
        int d = config.headDim();
        NDArray qkv = Layers.linear(h, p, "qkv").reshape(length, 3, heads, d);
        NDArray q = kernels.ropeRotateHalf(qkv.get(":, 0"), cos, sin);
        NDArray k = kernels.ropeRotateHalf(qkv.get(":, 1"), cos, sin);
        NDArray v = qkv.get(":, 2");
        double scale = 1 / Math.sqrt(d);
        NDList out = new NDList();
        for (VisionWindows.Run r : runs) {
            long rows = (long) r.count() * r.length();
            String range = r.start() + ":" + (r.start() + rows);
            NDArray o = kernels.sdpa(segments(q, range, r), segments(k, range, r), segments(v, range, r), scale);
            out.add(o.transpose(0, 2, 1, 3).reshape(rows, config.hiddenSize()));
        }
        NDArray o = out.size() == 1 ? out.get(0) : NDArrays.concat(out, 0);
        return Layers.linear(o, p, "proj");
    }

    /** Rows {@code range} of x [L, heads, head] as [segments, heads, length, head]. */
    private NDArray segments(NDArray x, String range, VisionWindows.Run r) {
        return x.get(range).reshape(r.count(), r.length(), config.numHeads(), config.headDim()).transpose(0, 2, 1, 3);
    }

    /** ln_q per patch, the patches of each merge unit side by side, mlp.0 → exact GELU → mlp.2. */
    NDArray merger(NDArray x) {
        long units = x.getShape().get(0) / config.mergeUnit();
        NDArray h = kernels.rmsNorm(x, params.get(CANONICAL + "merger.ln_q.weight"), EPS)
                .reshape(units, (long) config.mergeUnit() * config.hiddenSize());
        h = kernels.geluErf(Layers.linear(h, params, CANONICAL + "merger.mlp.0"));
        return Layers.linear(h, params, CANONICAL + "merger.mlp.2");
    }

    /** int64 [N, width]: row j is order[j] repeated, the index of a gather of rows. */
    private static NDArray rowIndex(int[] order, long width, NDManager manager) {
        long[] idx = Arrays.stream(order).asLongStream().toArray();
        return manager.create(idx).reshape(order.length, 1).broadcast(new Shape(order.length, width));
    }

    private void checkPatches(NDArray patches, int gridT, int gridH, int gridW) {
        long[] shape = patches.getShape().getShape();
        if (shape.length != 2 || shape[1] != config.patchDim()) {
            throw new IllegalArgumentException("pixel patches must have shape [patches, " + config.inChannels() + "·"
                    + config.temporalPatchSize() + "·" + config.patchSize() + "·" + config.patchSize() + " = "
                    + config.patchDim() + "], got " + Arrays.toString(shape));
        }
        VisionWindows.checkGrid(gridT, gridH, gridW, config.spatialMergeSize());
        if (shape[0] != (long) gridT * gridH * gridW) {
            throw new IllegalArgumentException(shape[0] + " pixel patches for a grid (t, h, w) = (" + gridT + ", "
                    + gridH + ", " + gridW + ") of " + (long) gridT * gridH * gridW + " patches");
        }
        TensorType t = Precision.typeOf(patches);
        if (!t.isFloatingPoint()) {
            throw new IllegalArgumentException("pixel patches must be floating point, got " + t);
        }
    }

    /** The loaded parameters (legacy names), for tests. */
    Parameters parameters() {
        return params;
    }

    /** False once {@link #close()} has freed the weights. */
    boolean isOpen() {
        return params.manager().isOpen();
    }

    @Override
    public void close() {
        params.close();
    }
}
