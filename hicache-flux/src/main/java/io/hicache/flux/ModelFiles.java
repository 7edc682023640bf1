package io.hicache.flux;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/** Locating the files of a diffusers model folder, with errors that say how to get a missing one. */
public final class ModelFiles {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelFiles() {}

    /** What a user can do about a missing component file. */
    public static String howToGet(Path dir) {
        return "expected the diffusers layout of a FLUX.1 model folder (the Hugging Face repository"
                + " black-forest-labs/FLUX.1-dev or FLUX.1-schnell, downloaded with all its subfolders),"
                + " or a tiny test model written by `hicache init-tiny`; " + dir + " is the component folder";
    }

    /**
     * Checks a component's compute type: float32 or bfloat16. float16 is refused because T5 overflows
     * in it (transformers keeps T5's wo in float32 for that reason) and CPU GEMM in it is very slow.
     */
    public static TensorType requireComputeType(TensorType dtype) {
        if (dtype != TensorType.F32 && dtype != TensorType.BF16) {
            throw new IllegalArgumentException("compute dtype must be float32 or bfloat16, got " + dtype.displayName());
        }
        return dtype;
    }

    /** {@code dir/name}, which must be a regular file. */
    public static Path require(Path dir, String name) throws IOException {
        Path p = dir.resolve(name);
        if (!Files.isRegularFile(p)) {
            throw new NoSuchFileException(p.toString(), null, "missing " + name + ": " + howToGet(dir));
        }
        return p;
    }

    /**
     * The safetensors weights of a component folder: {@code *.safetensors.index.json} with its shards,
     * or the folder's {@code *.safetensors} files.
     */
    public static WeightStore openWeights(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "missing component folder: " + howToGet(dir));
        }
        try {
            return WeightStore.open(dir);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(e.getFile(), null, e.getReason() + ": " + howToGet(dir));
        }
    }

    /** Parses {@code dir/name} as a JSON object. */
    public static ConfigJson readConfig(Path dir, String name) throws IOException {
        Path p = require(dir, name);
        return new ConfigJson(p, readJsonObject(p));
    }

    /** Parses {@code file} as a JSON object (Jackson names a byte that is not UTF-8 and where it is). */
    public static JsonNode readJsonObject(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new InvalidModelException(file + ": not valid JSON: " + e.getOriginalMessage() + locationOf(e), e);
        }
        if (root == null || !root.isObject()) {
            throw new InvalidModelException(file + ": expected a JSON object");
        }
        return root;
    }

    private static String locationOf(JsonProcessingException e) {
        return e.getLocation() == null ? ""
                : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
    }

    /**
     * The text of {@code file}, which must be UTF-8; the error names the file and the offset of the
     * first byte that is not (the JDK's own message is only "Input length = 1").
     */
    public static String readText(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = decoder.decode(in, out, true);
        if (r.isError()) {
            throw new InvalidModelException(file + ": not UTF-8 text (invalid byte 0x"
                    + String.format("%02x", bytes[in.position()] & 0xff) + " at offset " + in.position() + ")");
        }
        decoder.flush(out);
        return out.flip().toString();
    }

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
