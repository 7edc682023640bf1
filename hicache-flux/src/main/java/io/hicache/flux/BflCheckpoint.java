package io.hicache.flux;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Black Forest Labs single-file FLUX checkpoint ({@code flux1-dev.safetensors}) seen with diffusers
 * names, as diffusers' {@code convert_flux_to_diffusers.py} maps them: fused {@code qkv} rows split
 * into q, k, v; a single block's {@code linear1} rows split into q, k, v and {@code proj_mlp} (biases
 * likewise); the halves of {@code final_layer.adaLN_modulation.1} swapped, because BFL orders the
 * final modulation (shift, scale) and diffusers (scale, shift). Everything else is a rename.
 *
 * <p>Split points are multiples of the config's hidden size, so a fused tensor of the wrong size
 * shows up as a wrongly shaped diffusers tensor when the model verifies the checkpoint. BFL names
 * this mapping does not know are presented unchanged (and reported as unexpected).
 */
public final class BflCheckpoint implements WeightSource, AutoCloseable {
    /** Rows {@code [from, to)} of a BFL tensor ({@code to < 0}: to the end), or its halves swapped. */
    private record Piece(String source, long from, long to, boolean swapHalves) {
        static Piece whole(String source) {
            return new Piece(source, 0, -1, false);
        }
    }

    private static final Pattern DOUBLE = Pattern.compile("double_blocks\\.(\\d+)\\.(.+)");
    private static final Pattern SINGLE = Pattern.compile("single_blocks\\.(\\d+)\\.(.+)");
    private static final Map<String, String> TOP_LEVEL = Map.of(
            "img_in.", "x_embedder.",
            "txt_in.", "context_embedder.",
            "time_in.in_layer.", "time_text_embed.timestep_embedder.linear_1.",
            "time_in.out_layer.", "time_text_embed.timestep_embedder.linear_2.",
            "guidance_in.in_layer.", "time_text_embed.guidance_embedder.linear_1.",
            "guidance_in.out_layer.", "time_text_embed.guidance_embedder.linear_2.",
            "vector_in.in_layer.", "time_text_embed.text_embedder.linear_1.",
            "vector_in.out_layer.", "time_text_embed.text_embedder.linear_2.",
            "final_layer.linear.", "proj_out.");
    private static final Map<String, String> DOUBLE_RENAMES = Map.ofEntries(
            Map.entry("img_mod.lin.", "norm1.linear."),
            Map.entry("txt_mod.lin.", "norm1_context.linear."),
            Map.entry("img_attn.norm.query_norm.scale", "attn.norm_q.weight"),
            Map.entry("img_attn.norm.key_norm.scale", "attn.norm_k.weight"),
            Map.entry("txt_attn.norm.query_norm.scale", "attn.norm_added_q.weight"),
            Map.entry("txt_attn.norm.key_norm.scale", "attn.norm_added_k.weight"),
            Map.entry("img_attn.proj.", "attn.to_out.0."),
            Map.entry("txt_attn.proj.", "attn.to_add_out."),
            Map.entry("img_mlp.0.", "ff.net.0.proj."),
            Map.entry("img_mlp.2.", "ff.net.2."),
            Map.entry("txt_mlp.0.", "ff_context.net.0.proj."),
            Map.entry("txt_mlp.2.", "ff_context.net.2."));
    private static final Map<String, String> SINGLE_RENAMES = Map.of(
            "modulation.lin.", "norm.linear.",
            "linear2.", "proj_out.",
            "norm.query_norm.scale", "attn.norm_q.weight",
            "norm.key_norm.scale", "attn.norm_k.weight");

    private final WeightStore store;
    private final Map<String, Piece> pieces = new TreeMap<>();

    private BflCheckpoint(WeightStore store, long hidden) {
        this.store = store;
        for (String name : store.names()) {
            translate(name, hidden).forEach((diffusersName, piece) -> {
                if (pieces.put(diffusersName, piece) != null) {
                    throw new IllegalArgumentException(store.describe() + ": two tensors map to " + diffusersName);
                }
            });
        }
    }

    /** Opens {@code file} for a model of {@code config}'s hidden size. */
    public static BflCheckpoint open(Path file, FluxConfig config) throws IOException {
        WeightStore store = WeightStore.open(file);
        try {
            return new BflCheckpoint(store, config.hiddenSize());
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /** The diffusers names (and row ranges) one BFL tensor provides. */
    private static Map<String, Piece> translate(String name, long d) {
        Map<String, Piece> out = new TreeMap<>();
        for (Map.Entry<String, String> e : TOP_LEVEL.entrySet()) {
            if (name.startsWith(e.getKey())) {
                out.put(e.getValue() + name.substring(e.getKey().length()), Piece.whole(name));
                return out;
            }
        }
        if (name.startsWith("final_layer.adaLN_modulation.1.")) {
            out.put("norm_out.linear." + name.substring("final_layer.adaLN_modulation.1.".length()),
                    new Piece(name, 0, -1, true));
            return out;
        }
        Matcher m = DOUBLE.matcher(name);
        if (m.matches()) {
            String prefix = "transformer_blocks." + m.group(1) + ".";
            String rest = m.group(2);
            if (rest.startsWith("img_attn.qkv.") || rest.startsWith("txt_attn.qkv.")) {
                String suffix = rest.substring("img_attn.qkv.".length());
                String[] targets = rest.startsWith("img")
                        ? new String[] {"attn.to_q.", "attn.to_k.", "attn.to_v."}
                        : new String[] {"attn.add_q_proj.", "attn.add_k_proj.", "attn.add_v_proj."};
                for (int i = 0; i < 3; i++) {
                    out.put(prefix + targets[i] + suffix, new Piece(name, i * d, i == 2 ? -1 : (i + 1) * d, false));
                }
                return out;
            }
            return rename(name, prefix, rest, DOUBLE_RENAMES);
        }
        m = SINGLE.matcher(name);
        if (m.matches()) {
            String prefix = "single_transformer_blocks." + m.group(1) + ".";
            String rest = m.group(2);
            if (rest.startsWith("linear1.")) {
                String suffix = rest.substring("linear1.".length());
                String[] targets = {"attn.to_q.", "attn.to_k.", "attn.to_v.", "proj_mlp."};
                for (int i = 0; i < 4; i++) {
                    out.put(prefix + targets[i] + suffix, new Piece(name, i * d, i == 3 ? -1 : (i + 1) * d, false));
                }
                return out;
            }
            return rename(name, prefix, rest, SINGLE_RENAMES);
        }
        out.put(name, Piece.whole(name));
        return out;
    }

    private static Map<String, Piece> rename(String name, String prefix, String rest, Map<String, String> renames) {
        for (Map.Entry<String, String> e : renames.entrySet()) {
            if (rest.startsWith(e.getKey())) {
                return Map.of(prefix + e.getValue() + rest.substring(e.getKey().length()), Piece.whole(name));
            }
        }
        return Map.of(name, Piece.whole(name));
    }

    @Override
    public String describe() {
        return "BFL single-file checkpoint " + store.describe() + " (shown with diffusers names)";
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(pieces.keySet());
    }

    @Override
    public boolean contains(String name) {
        return pieces.containsKey(name);
    }

    private Piece piece(String name) {
        Piece p = pieces.get(name);
        if (p == null) {
            throw new IllegalArgumentException(describe() + " has no tensor '" + name + "'");
        }
        return p;
    }

    @Override
    public TensorType type(String name) {
        return store.type(piece(name).source());
    }

    @Override
    public long[] shape(String name) {
        Piece p = piece(name);
        long[] shape = store.shape(p.source());
        if (!p.swapHalves()) {
            long rows = shape[0];
            long to = p.to() < 0 ? rows : Math.min(p.to(), rows);
            shape[0] = Math.max(0, to - Math.min(p.from(), rows));
        }
        return shape;
    }

    @Override
    public NDArray get(String name, TensorType type, NDManager manager) throws IOException {
        Piece p = piece(name);
        try (NDManager scratch = manager.newSubManager()) {
            NDArray full = store.get(p.source(), type, scratch);
            long rows = full.getShape().get(0);
            NDArray part;
            if (p.swapHalves()) {
                if (rows % 2 != 0) {
                    throw new IOException(describe() + ": " + p.source() + " has an odd number of rows, cannot swap halves");
                }
                NDArray second = full.get(new NDIndex((rows / 2) + ":"));
                part = second.concat(full.get(new NDIndex("0:" + (rows / 2))), 0);
            } else if (p.from() == 0 && (p.to() < 0 || p.to() >= rows)) {
                part = full;
            } else {
                long to = p.to() < 0 ? rows : Math.min(p.to(), rows);
                // a copy, so the result does not keep the whole fused tensor alive
                part = full.get(new NDIndex(p.from() + ":" + to)).duplicate();
            }
            part.attach(manager);
            return part;
        }
    }

    @Override
    public void close() {
        store.close();
    }
}
