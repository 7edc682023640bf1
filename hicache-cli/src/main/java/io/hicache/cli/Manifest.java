package io.hicache.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.hicache.core.util.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code manifest.jsonl}: one JSON line per image, appended and forced to disk as each image
 * finishes, so a run killed at any moment loses at most the line being written. Reading tolerates
 * that torn last line; opening rewrites the file (atomically) with one line per image, the latest.
 */
final class Manifest implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Manifest.class);
    static final ObjectMapper JSON = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private final Path file;
    private final FileChannel channel;

    private Manifest(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /** The latest entry of every image in {@code file} (empty when there is no file). */
    static Map<Integer, ManifestEntry> readLatest(Path file) throws IOException {
        Map<Integer, ManifestEntry> latest = new TreeMap<>();
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return latest;
        } catch (IOException e) {
            throw Errors.cannotRead(file, e);
        }
        List<String> lines = text.lines().toList();
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n);
            if (line.isBlank()) {
                continue;
            }
            try {
                ManifestEntry e = JSON.readValue(line, ManifestEntry.class);
                latest.put(e.index(), e);
            } catch (IOException e) {
                boolean torn = n == lines.size() - 1 && !text.endsWith("\n");
                if (torn) {
                    LOG.info("{}: dropping the torn last line (the previous run was stopped while writing it)", file);
                } else {
                    LOG.warn("{}: skipping unreadable line {}", file, n + 1);
                }
            }
        }
        return latest;
    }

    /** Rewrites {@code file} with {@code entries} (by index) and opens it for appending. */
    static Manifest open(Path file, Collection<ManifestEntry> entries) throws IOException {
        StringBuilder text = new StringBuilder();
        for (ManifestEntry e : entries.stream().sorted(Comparator.comparingInt(ManifestEntry::index)).toList()) {
            text.append(JSON.writeValueAsString(e)).append('\n');
        }
        try {
            AtomicFiles.writeString(file, text.toString());
            return new Manifest(file, FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw Errors.cannotWrite(file, e);
        }
    }

    /** Appends one line and forces it to disk before returning. */
    synchronized void append(ManifestEntry entry) throws IOException {
        ByteBuffer line = ByteBuffer.wrap((JSON.writeValueAsString(entry) + "\n").getBytes(StandardCharsets.UTF_8));
        try {
            while (line.hasRemaining()) {
                channel.write(line);
            }
            channel.force(false);
        } catch (IOException e) {
            throw Errors.cannotWrite(file, e);
        }
    }

    Path file() {
        return file;
    }

    @Override
    public synchronized void close() throws IOException {
        channel.close();
    }
}
