package io.hicache.cli;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * One of {@code count} disjoint parts of a run ({@code --shard k/n}, 1-based), for cluster
 * schedulers that start the same command n times (Slurm arrays, Kubernetes indexed jobs).
 *
 * <p>Images are dealt round-robin by their global index: image i belongs to shard
 * {@code i mod n + 1}. The assignment depends on nothing but the index, so changing
 * {@code --limit} or {@code --start-index} never moves an image to another shard, and the shards
 * together are exactly the unsharded run, with the same file names and seeds.
 */
record Shard(int number, int count) {
    static final Shard WHOLE = new Shard(1, 1);

    Shard {
        if (count < 1 || number < 1 || number > count) {
            throw new UsageException("--shard " + number + "/" + count + ": use k/n with 1 <= k <= n");
        }
    }

    /** Parses {@code k/n}. */
    static Shard parse(String text) {
        String[] parts = text.trim().split("/", -1);
        if (parts.length != 2) {
            throw new UsageException("--shard '" + text + "': use k/n, e.g. 2/8 for the second of eight shards");
        }
        try {
            return new Shard(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
        } catch (NumberFormatException e) {
            throw new UsageException("--shard '" + text + "': use k/n with whole numbers, e.g. 2/8");
        }
    }

    boolean isWhole() {
        return count == 1;
    }

    boolean contains(int imageIndex) {
        return imageIndex % count == number - 1;
    }

    /** Suffix that keeps the per-run files of concurrent shards apart, e.g. {@code .shard-2-of-8}. */
    String fileSuffix() {
        return isWhole() ? "" : ".shard-" + number + "-of-" + count;
    }

    @JsonValue
    @Override
    public String toString() {
        return number + "/" + count;
    }
}
