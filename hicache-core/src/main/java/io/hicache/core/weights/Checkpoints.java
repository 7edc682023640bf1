package io.hicache.core.weights;

import io.hicache.core.pipeline.InvalidModelException;
import java.util.HashSet;
import java.util.Set;

/** Checks of a checkpoint against its config made from tensor names alone, before anything is built. */
public final class Checkpoints {
    private Checkpoints() {}

    /**
     * Checks that {@code source} holds at least the {@code blocks} blocks {@code prefix}0 … that
     * the config's {@code setting} (e.g. "num_layers = 19") asks for. Run before a model's parameter spec is built: that
     * spec has an entry per block, so a config claiming far more layers than the checkpoint has is
     * refused here with one line, rather than listing every absent tensor (fewer layers than the
     * checkpoint show up, tensor by tensor, in the spec's verification).
     */
    public static void requireBlocks(WeightSource source, String prefix, long blocks, String setting)
            throws InvalidModelException {
        Set<String> indices = new HashSet<>();
        for (String name : source.names()) {
            if (name.startsWith(prefix)) {
                int dot = name.indexOf('.', prefix.length());
                String index = name.substring(prefix.length(), dot < 0 ? name.length() : dot);
                if (!index.isEmpty() && index.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
                    indices.add(index);
                }
            }
        }
        if (blocks > indices.size()) {
            throw new InvalidModelException(source.describe() + ": the config's " + setting + " asks for " + blocks
                    + " blocks " + prefix + "*, but the checkpoint holds " + indices.size());
        }
    }
}
