package io.hicache.cli;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The output directory of a run: checked writable, locked against a second run of the same shard,
 * swept of temporary files a killed run left, and scanned for images that are already done.
 *
 * <p>Per-run files carry the shard in their name ({@code manifest.shard-2-of-8.jsonl}), so shards of
 * one run can share a directory, even on a shared file system; images never collide because shards
 * are disjoint.
 */
final class OutputDir implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OutputDir.class);

    private final Path dir;
    private final Shard shard;
    private final List<AutoCloseable> locks;

    private OutputDir(Path dir, Shard shard, List<AutoCloseable> locks) {
        this.dir = dir;
        this.shard = shard;
        this.locks = locks;
    }

    /**
     * Creates the directory if needed, checks that files can be written there and takes its lock: a
     * whole run locks the directory; a shard shares it with the other shards and locks itself.
     */
    static OutputDir open(Path dir, Shard shard) {
        try {
            Files.createDirectories(dir);
        } catch (FileAlreadyExistsException e) {
            throw new UsageException("output directory " + dir + " is not a directory");
        } catch (AccessDeniedException e) {
            throw new UsageException("cannot create output directory " + dir + ": permission denied on " + e.getFile());
        } catch (FileSystemException e) {
            throw new UsageException("cannot create output directory " + dir + ": " + reason(e));
        } catch (IOException e) {
            throw new UsageException("cannot create output directory " + dir + ": " + Errors.oneLine(e));
        }
        try {
            Files.delete(Files.createTempFile(dir, ".hicache-write-test", ""));
        } catch (IOException e) {
            throw new UsageException("output directory " + dir + " is not writable: " + Errors.oneLine(e));
        }
        List<AutoCloseable> locks = new ArrayList<>();
        try {
            locks.add(lock(dir.resolve(".hicache.lock"), !shard.isWhole()));
            if (!shard.isWhole()) {
                locks.add(lock(dir.resolve(".hicache" + shard.fileSuffix() + ".lock"), false));
            }
        } catch (RuntimeException e) {
            closeAll(locks);
            throw e;
        }
        return new OutputDir(dir, shard, locks);
    }

    private static String reason(FileSystemException e) {
        return e.getReason() != null ? e.getReason() + " (" + e.getFile() + ")" : Errors.oneLine(e);
    }

    private static AutoCloseable lock(Path file, boolean shared) {
        FileChannel channel = null;
        try {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock(0, Long.MAX_VALUE, shared);
            if (lock == null) {
                throw new OverlappingFileLockException();
            }
            return channel;
        } catch (OverlappingFileLockException e) {
            closeQuietly(channel);
            throw new UsageException("another hicache run is writing to " + file.getParent()
                    + ": wait for it to finish, or choose another --output-dir");
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UsageException("cannot lock " + file + ": " + Errors.oneLine(e));
        }
    }

    Path path() {
        return dir;
    }

    Path manifestFile() {
        return dir.resolve("manifest" + shard.fileSuffix() + ".jsonl");
    }

    Path runFile() {
        return dir.resolve("run" + shard.fileSuffix() + ".json");
    }

    Path logFile() {
        return dir.resolve("hicache" + shard.fileSuffix() + ".log");
    }

    /**
     * Deletes temporary files ({@code .<name>.tmp-*}) that a killed run left behind for this run's
     * files, and only those: other shards may be writing theirs right now.
     */
    void removeStaleTemporaries(List<Job> jobs) throws IOException {
        Set<String> mine = new HashSet<>();
        for (Job job : jobs) {
            mine.add(OutputType.pngName(job));
            mine.add(OutputType.latentsName(job));
        }
        mine.add(manifestFile().getFileName().toString());
        mine.add(runFile().getFileName().toString());
        int removed = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, ".*.tmp-*")) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                String target = name.substring(1, name.lastIndexOf(".tmp-"));
                if (mine.contains(target) && Files.deleteIfExists(p)) {
                    removed++;
                }
            }
        }
        if (removed > 0) {
            LOG.info("removed {} temporary file(s) left by an interrupted run", removed);
        }
    }

    /**
     * What a rerun finds: images already made, images to make, and manifest entries rebuilt for
     * finished images the manifest did not know (it was lost, or the files were copied in).
     */
    record Resume(List<Job> done, List<Job> todo, List<ManifestEntry> recovered) {}

    /**
     * Sorts {@code jobs} into done and to-do. An image is done when each of its files exists and was
     * made with the same parameters: known from a matching ok manifest line and file sizes, or else
     * from the parameters in the decoded file. Damaged files are redone: every file is checked
     * (PNG chunk CRCs, latents header and sizes), since a flipped byte keeps the size. Files made with other
     * parameters stop the run (exit 2) rather than mixing two configurations in one directory.
     */
    Resume scan(List<Job> jobs, ImageSettings settings, OutputType type, Map<Integer, ManifestEntry> previous) {
        List<Job> done = new ArrayList<>();
        List<Job> todo = new ArrayList<>();
        List<ManifestEntry> recovered = new ArrayList<>();
        Map<String, List<String>> conflicts = new LinkedHashMap<>();
        for (Job job : jobs) {
            String parameters = settings.parameters(job);
            ManifestEntry entry = previous.get(job.index());
            if (entry != null && entry.ok() && recorded(entry, type.fileNames(job), parameters)) {
                if (intact(type.fileNames(job))) {
                    done.add(job);
                } else {
                    todo.add(job);
                }
                continue;
            }
            boolean complete = true;
            Map<String, Long> sizes = new LinkedHashMap<>();
            for (String name : type.fileNames(job)) {
                Path file = dir.resolve(name);
                if (!Files.exists(file)) {
                    complete = false;
                    continue;
                }
                String found;
                try {
                    found = name.endsWith(".png") ? OutputFiles.readPngParameters(file)
                            : OutputFiles.readLatentsParameters(file);
                } catch (IOException e) {
                    LOG.warn("{} is damaged and will be made again ({})", name, Errors.oneLine(e));
                    complete = false;
                    continue;
                }
                List<String> differences = found == null ? List.of("no generation parameters in the file")
                        : ImageSettings.differences(found, parameters);
                if (!differences.isEmpty()) {
                    conflicts.put(name, differences);
                }
                sizes.put(name, size(file));
            }
            if (complete) {
                done.add(job);
                recovered.add(ManifestEntry.recovered(job, sizes, ImageSettings.fingerprint(parameters)));
            } else {
                todo.add(job);
            }
        }
        if (!conflicts.isEmpty()) {
            Map.Entry<String, List<String>> first = conflicts.entrySet().iterator().next();
            throw new UsageException(dir + " already holds " + conflicts.size() + " image file(s) made with other "
                    + "settings (" + first.getKey() + ": " + String.join(", ", first.getValue())
                    + "): add --overwrite to replace them, or choose another --output-dir");
        }
        return new Resume(done, todo, recovered);
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }

    /** Whether the files pass their format's integrity check; warns about those that do not. */
    private boolean intact(List<String> names) {
        boolean intact = true;
        for (String name : names) {
            try {
                OutputFiles.checkIntact(dir.resolve(name));
            } catch (IOException e) {
                LOG.warn("{} is damaged and will be made again ({})", name, Errors.oneLine(e));
                intact = false;
            }
        }
        return intact;
    }

    /** The manifest says so, and the files are there with the sizes it recorded. */
    private boolean recorded(ManifestEntry entry, List<String> names, String parameters) {
        if (!ImageSettings.fingerprint(parameters).equals(entry.parameters()) || entry.files() == null) {
            return false;
        }
        for (String name : names) {
            Long size = entry.files().get(name);
            try {
                if (size == null || Files.size(dir.resolve(name)) != size) {
                    return false;
                }
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        closeAll(locks);
    }

    private static void closeAll(List<AutoCloseable> closeables) {
        for (AutoCloseable c : closeables) {
            closeQuietly(c);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.debug("closing {}", c, e);
            }
        }
    }
}
