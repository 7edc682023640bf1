package io.hicache.cli;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.pipeline.PipelineSpec.Component;
import io.hicache.core.pipeline.TextEmbeddings;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.SafetensorsWriter;
import java.io.PrintWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code hicache encode-prompts}: runs only the text encoders and writes the embeddings a
 * generation run takes with {@code --prompt-embeds}, so many workers (or machines) share one
 * encoding and load no text encoder. Row i belongs to prompt i of the list.
 */
@Command(header = "Encodes prompts once with the text encoders, for --prompt-embeds.", name = "encode-prompts", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class, sortOptions = false, usageHelpAutoWidth = true,
        description = "Encodes prompts once with the backend's text encoders and writes a safetensors file with "
                + "'prompt_embeds' [B, L, D] and (FLUX) 'pooled_prompt_embeds' [B, P], row i = prompt i, for "
                + "--prompt-embeds. Only the text encoders are loaded. The model is the backend's default "
                + "(resources/weights/FLUX.1-dev for flux) unless --model-path says otherwise.")
public final class EncodePromptsCommand extends ToolCommand {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    ToolOptions.Model model = new ToolOptions.Model();

    @Mixin
    ToolOptions.Prompts prompts = new ToolOptions.Prompts();

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "The embeddings file to write.")
    Path output;

    @Option(names = {"--negative-prompt", "--negative_prompt"}, paramLabel = "TEXT",
            description = "Also write its embeddings, once per prompt row, as 'negative_prompt_embeds' (and "
                    + "'negative_pooled_prompt_embeds'), for true classifier-free guidance.")
    String negativePrompt;

    @Option(names = "--overwrite", description = "Replace --output if it exists (never the prompt file).")
    boolean overwrite;

    @Override
    void run(PrintWriter out) throws Exception {
        List<String> list = prompts.collect();
        if (negativePrompt != null) {
            Prompts.checkText(negativePrompt, "--negative-prompt", true);
        }
        checkOutput();
        Backend b = model.backend();
        Device d = model.device();
        PipelineSpec s = new PipelineSpec(model.path(b), d, model.dtype(d), EnumSet.of(Component.TEXT_ENCODERS));
        b.checkModel(s);
        long start = System.nanoTime();
        Path spool = Files.createTempFile(output.toAbsolutePath().getParent(), ".encode-prompts-", ".tmp");
        try (ImagePipeline encoder = b.open(s);
                FileChannel rows = FileChannel.open(spool, StandardOpenOption.WRITE, StandardOpenOption.READ)) {
            // each prompt's token embeddings go to the spool file, so memory holds one row at a time
            long[] lengths = new long[list.size()];
            long width = -1;
            List<HostTensor> pooled = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                TextEmbeddings e = encode(encoder, list.get(i));
                lengths[i] = checkRow(e.tokens(), width, list.get(i));
                width = e.tokens().dim(2);
                pooled.add(e.pooled());
                write(rows, e.tokens());
            }
            TextEmbeddings negative = negativePrompt == null ? null : encode(encoder, negativePrompt);
            long longest = Arrays.stream(lengths).max().orElse(0);
            if (negative != null) {
                longest = Math.max(longest, checkRow(negative.tokens(), width, negativePrompt));
            }
            long n = longest;
            long dim = width;
            // models whose text length varies (Qwen-Image) get rows padded to the longest and a mask
            boolean masked = Arrays.stream(lengths).anyMatch(l -> l != n)
                    || negative != null && negative.tokens().dim(1) != n;
            long[] tokenShape = {list.size(), n, dim};
            SafetensorsWriter w = new SafetensorsWriter()
                    .metadata("prompts", JSON.writeValueAsString(list))
                    .metadata("backend", b.name())
                    .metadata("model", s.model())
                    .add("prompt_embeds", TensorType.F32, tokenShape, 4 * product(tokenShape), channel -> {
                        long offset = 0;
                        for (long length : lengths) {
                            ByteBuffer row = ByteBuffer.allocate(Math.toIntExact(4 * n * dim)).order(ByteOrder.LITTLE_ENDIAN);
                            row.limit(Math.toIntExact(4 * length * dim));
                            while (row.hasRemaining()) {
                                if (rows.read(row, offset + row.position()) < 0) {
                                    throw new IOException("the spooled embeddings in " + spool + " ended early");
                                }
                            }
                            offset += 4 * length * dim;
                            row.limit(row.capacity()).position(0);
                            while (row.hasRemaining()) {
                                channel.write(row);
                            }
                        }
                    });
            if (masked) {
                addMask(w, "prompt_embeds_mask", lengths, n);
            }
            if (pooled.get(0) != null) {
                long[] pooledShape = batchShape(list.size(), pooled.get(0));
                w.add("pooled_prompt_embeds", TensorType.F32, pooledShape, 4 * product(pooledShape), channel -> {
                    for (HostTensor p : pooled) {
                        write(channel, p);
                    }
                });
            }
            if (negative != null) {
                w.metadata("negative_prompt", negativePrompt);
                addRepeated(w, "negative_prompt_embeds", padded(negative.tokens(), n), list.size());
                if (masked) {
                    long[] negativeLengths = new long[list.size()];
                    Arrays.fill(negativeLengths, negative.tokens().dim(1));
                    addMask(w, "negative_prompt_embeds_mask", negativeLengths, n);
                }
                if (negative.pooled() != null) {
                    addRepeated(w, "negative_pooled_prompt_embeds", negative.pooled(), list.size());
                }
            }
            w.write(output);
            out.printf(Locale.ROOT, "encoded %d prompt(s) in %.1f s on %s: prompt_embeds %s%s -> %s%n", list.size(),
                    (System.nanoTime() - start) / 1e9, DeviceChoice.name(d), Arrays.toString(tokenShape),
                    pooled.get(0) == null ? ""
                            : ", pooled_prompt_embeds " + Arrays.toString(batchShape(list.size(), pooled.get(0))),
                    output);
        } finally {
            Files.deleteIfExists(spool);
        }
    }

    /** The token count of one prompt's embeddings [1, L, D], which must have the width of the others. */
    private static long checkRow(HostTensor tokens, long width, String prompt) {
        if (tokens.rank() != 3 || tokens.dim(0) != 1 || width >= 0 && tokens.dim(2) != width) {
            throw new IllegalStateException("prompt '" + prompt + "' encodes to " + Arrays.toString(tokens.shape())
                    + ", the others to [1, L, " + width + "]");
        }
        return tokens.dim(1);
    }

    /** [1, L, D] zero-padded to [1, n, D]. */
    private static HostTensor padded(HostTensor tokens, long n) {
        long d = tokens.dim(2);
        return new HostTensor(new long[] {1, n, d}, Arrays.copyOf(tokens.data(), Math.toIntExact(n * d)));
    }

    /** {@code name} [B, n]: 1 for the first {@code lengths[i]} tokens of row i, 0 for its padding. */
    private static void addMask(SafetensorsWriter w, String name, long[] lengths, long n) {
        float[] mask = new float[Math.toIntExact(lengths.length * n)];
        for (int i = 0; i < lengths.length; i++) {
            Arrays.fill(mask, Math.toIntExact(i * n), Math.toIntExact(i * n + lengths[i]), 1f);
        }
        ByteBuffer bytes = ByteBuffer.allocate(4 * mask.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(mask);
        w.add(name, TensorType.F32, new long[] {lengths.length, n}, bytes);
    }

    /** Before anything loads: {@code --output} replaces no directory, no prompt file, and no file unasked. */
    private void checkOutput() throws IOException {
        PathArguments.requireWritableFile("--output", output);
        if (!Files.exists(output)) {
            return;
        }
        if (prompts.file != null && Files.exists(prompts.file) && Files.isSameFile(output, prompts.file)) {
            throw new UsageException("--output " + output + " is the prompt file; write the embeddings elsewhere");
        }
        if (!overwrite) {
            throw new UsageException("--output " + output + " exists; add --overwrite to replace it");
        }
    }

    /** {@code one} [1, …] written {@code n} times as tensor {@code name} [n, …]. */
    private static void addRepeated(SafetensorsWriter w, String name, HostTensor one, int n) {
        long[] shape = batchShape(n, one);
        w.add(name, TensorType.F32, shape, 4 * product(shape), channel -> {
            for (int i = 0; i < n; i++) {
                write(channel, one);
            }
        });
    }

    private static void write(FileChannel channel, HostTensor t) throws IOException {
        ByteBuffer bytes = t.littleEndianBytes();
        while (bytes.hasRemaining()) {
            channel.write(bytes);
        }
    }

    private static TextEmbeddings encode(ImagePipeline encoder, String prompt) throws IOException {
        try {
            return encoder.encode(prompt);
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("encoding '" + prompt + "' failed: " + e.getMessage(), e);
        }
    }

    /** [1, …] of one prompt → [n, …]. */
    private static long[] batchShape(int n, HostTensor one) {
        long[] s = one.shape().clone();
        s[0] = n;
        return s;
    }

    private static long product(long[] shape) {
        long p = 1;
        for (long d : shape) {
            p = Math.multiplyExact(p, d);
        }
        return p;
    }

    private static void checkSame(HostTensor first, HostTensor other, String prompt) {
        if (!Arrays.equals(first.shape(), other.shape())) {
            throw new IllegalStateException("prompt '" + prompt + "' encodes to " + Arrays.toString(other.shape())
                    + ", the first to " + Arrays.toString(first.shape()));
        }
    }
}
