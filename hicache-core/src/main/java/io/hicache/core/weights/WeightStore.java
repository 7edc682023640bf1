package io.hicache.core.weights;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.runtime.Kernels;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Name → tensor over one safetensors file, a sharded checkpoint ({@code *.safetensors.index.json})
 * or a directory of shards, producing tensors on any device in any requested dtype.
 *
 * <p>{@link LoadMode#COPY} (the default) gives every tensor its own memory. {@link LoadMode#MAP}
 * backs CPU tensors that need no conversion directly by the mapped file — no copy, pages shared by
 * all replicas in the process and loaded lazily — at the price that such tensors are read-only: an
 * in-place op on them would fault. The store pins every mapping it hands out until it is closed,
 * so views of mapped weights stay valid as long as the store lives.
 *
 * <p>{@link #scope(String)} returns a view whose names lack a prefix (e.g. {@code text_model.}).
 */
public final class WeightStore implements WeightSource, AutoCloseable {
    /** How tensors are materialised. */
    public enum LoadMode {
        COPY,
        MAP
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Shared shared;
    private final String prefix;

    /** State shared by a store and its scopes. */
    private static final class Shared {
        final Path source;
        final Map<String, SafetensorsFile> fileOf;
        final List<SafetensorsFile> files;
        final LoadMode mode;
        final List<ByteBuffer> pinned = Collections.synchronizedList(new ArrayList<>());
        volatile boolean closed;

        Shared(Path source, Map<String, SafetensorsFile> fileOf, List<SafetensorsFile> files, LoadMode mode) {
            this.source = source;
            this.fileOf = fileOf;
            this.files = files;
            this.mode = mode;
        }
    }

    private WeightStore(Shared shared, String prefix) {
        this.shared = shared;
        this.prefix = prefix;
    }

    public static WeightStore open(Path path) throws IOException {
        return open(path, LoadMode.COPY);
    }

    /**
     * Opens a {@code .safetensors} file, a {@code .safetensors.index.json}, or a directory holding
     * either an index or one or more {@code .safetensors} files.
     */
    public static WeightStore open(Path path, LoadMode mode) throws IOException {
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "no checkpoint here");
        }
        if (Files.isDirectory(path)) {
            List<Path> indexes = list(path, "*.safetensors.index.json");
            if (indexes.size() > 1) {
                throw new InvalidModelException(path + " holds several *.safetensors.index.json files: " + indexes);
            }
            if (indexes.size() == 1) {
                return openIndex(indexes.get(0), mode);
            }
            List<Path> shards = list(path, "*.safetensors");
            if (shards.isEmpty()) {
                throw new NoSuchFileException(path.toString(), null, "no *.safetensors file in this directory");
            }
            return openFiles(path, shards, mode);
        }
        String name = path.getFileName().toString();
        if (name.endsWith(".index.json")) {
            return openIndex(path, mode);
        }
        return openFiles(path, List.of(path), mode);
    }

    private static List<Path> list(Path dir, String glob) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, glob)) {
            ds.forEach(out::add);
        }
        Collections.sort(out);
        return out;
    }

    private static WeightStore openFiles(Path source, List<Path> paths, LoadMode mode) throws IOException {
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, SafetensorsFile> fileOf = new TreeMap<>();
        try {
            for (Path p : paths) {
                SafetensorsFile f = SafetensorsFile.open(p);
                files.add(f);
                for (String n : f.names()) {
                    SafetensorsFile before = fileOf.putIfAbsent(n, f);
                    if (before != null) {
                        throw new SafetensorsFormatException(p, n, "tensor also present in " + before.path());
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            closeAll(files);
            throw e;
        }
        return new WeightStore(new Shared(source, fileOf, files, mode), "");
    }

    private static WeightStore openIndex(Path index, LoadMode mode) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(index.toFile());
        } catch (IOException e) {
            throw new InvalidModelException(index + ": not a valid checkpoint index: " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new InvalidModelException(index + ": checkpoint index has no weight_map object");
        }
        Path dir = index.toAbsolutePath().getParent();
        Map<String, SafetensorsFile> byShard = new LinkedHashMap<>();
        Map<String, SafetensorsFile> fileOf = new TreeMap<>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().isTextual()) {
                    throw new InvalidModelException(index + ": weight_map entry '" + e.getKey() + "' is not a file name");
                }
                String shardName = e.getValue().asText();
                Path shard = dir.resolve(shardName).normalize();
                if (!shard.startsWith(dir)) {
                    throw new InvalidModelException(index + ": shard '" + shardName + "' lies outside " + dir);
                }
                SafetensorsFile f = byShard.get(shardName);
                if (f == null) {
                    if (!Files.isRegularFile(shard)) {
                        throw new NoSuchFileException(shard.toString(), null,
                                "shard named by " + index.getFileName() + " is missing");
                    }
                    f = SafetensorsFile.open(shard);
                    byShard.put(shardName, f);
                }
                if (!f.contains(e.getKey())) {
                    throw new SafetensorsFormatException(shard, e.getKey(),
                            "listed in " + index.getFileName() + " but not present in the shard");
                }
                fileOf.put(e.getKey(), f);
            }
        } catch (IOException | RuntimeException e) {
            closeAll(byShard.values());
            throw e;
        }
        return new WeightStore(new Shared(index, fileOf, new ArrayList<>(byShard.values()), mode), "");
    }

    private static void closeAll(Collection<SafetensorsFile> files) {
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (IOException ignored) {
                // closing a read-only channel does not fail in practice; the original error matters
            }
        }
    }

    /** Where the store was opened from. */
    public Path source() {
        return shared.source;
    }

    public LoadMode mode() {
        return shared.mode;
    }

    /** A view of the names under {@code prefix}, with the prefix removed. */
    public WeightStore scope(String prefix) {
        return new WeightStore(shared, this.prefix + prefix);
    }

    @Override
    public String describe() {
        return prefix.isEmpty() ? shared.source.toString() : shared.source + " (under '" + prefix + "')";
    }

    /** Names visible in this scope, sorted. */
    @Override
    public Set<String> names() {
        Set<String> out = new LinkedHashSet<>();
        for (String n : shared.fileOf.keySet()) {
            if (n.startsWith(prefix)) {
                out.add(n.substring(prefix.length()));
            }
        }
        return out;
    }

    @Override
    public boolean contains(String name) {
        return shared.fileOf.containsKey(prefix + name);
    }

    public TensorInfo info(String name) {
        return file(name).info(prefix + name);
    }

    @Override
    public TensorType type(String name) {
        return info(name).type();
    }

    @Override
    public long[] shape(String name) {
        return info(name).shapeArray();
    }

    /** Metadata of every file, merged (later shards win on equal keys). */
    public Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        shared.files.forEach(f -> m.putAll(f.metadata()));
        return m;
    }

    private SafetensorsFile file(String name) {
        if (shared.closed) {
            throw new IllegalStateException("weight store " + shared.source + " is closed");
        }
        SafetensorsFile f = shared.fileOf.get(prefix + name);
        if (f == null) {
            throw new IllegalArgumentException("checkpoint " + shared.source + " has no tensor '" + prefix + name + "'");
        }
        return f;
    }

    /** The tensor in its stored dtype on {@code manager}'s device. */
    public NDArray get(String name, NDManager manager) throws IOException {
        return get(name, info(name).type(), manager);
    }

    /** The tensor converted to {@code type} on {@code manager}'s device. */
    @Override
    public NDArray get(String name, TensorType type, NDManager manager) throws IOException {
        SafetensorsFile f = file(name);
        TensorInfo t = f.info(prefix + name);
        ByteBuffer bytes = f.bytes(prefix + name);
        Device device = manager.getDevice();
        // CPU tensors of a type DJL takes are views of the mapping; GPU uploads and bf16/int16 are copies
        boolean mapped = Precision.isDjlSafe(t.type()) && !device.isGpu();
        NDArray stored = Kernels.on(device).fromBytes(bytes, t.type(), t.shape(), manager);
        if (mapped && shared.mode == LoadMode.MAP && t.type() == type) {
            shared.pinned.add(bytes);
            return stored;
        }
        NDArray converted = Precision.cast(stored, type);
        if (converted != stored) {
            stored.close();
            return converted;
        }
        if (!mapped) {
            return stored;
        }
        // own the memory: one native copy out of the mapping (a Java-side copy into a zeroed direct
        // buffer ran at ~0.4-2 GB/s)
        try (stored) {
            return stored.duplicate();
        }
    }

    /** Bytes currently pinned by zero-copy tensors. */
    public long pinnedBytes() {
        synchronized (shared.pinned) {
            return shared.pinned.stream().mapToLong(ByteBuffer::capacity).sum();
        }
    }

    /** Closes the files (for the root store and all its scopes). Mapped tensors must be closed first. */
    @Override
    public void close() {
        if (!shared.closed) {
            shared.closed = true;
            closeAll(shared.files);
            shared.pinned.clear();
        }
    }
}
