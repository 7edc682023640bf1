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
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code hicache encode-prompts}: runs only the text encoders and writes the embeddings a
 * generation run takes with {@code --prompt-embeds}, so many workers (or machines) share one
 * encoding and load no text encoder. Row i belongs to prompt i of the list.
 */
@Command(header = "Encodes prompts once with the text encoders, for --prompt-embeds.", name = "encode-prompts", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = "Encodes prompts once with the backend's text encoders and writes a safetensors file with "
                + "'prompt_embeds' [B, L, D] and (FLUX) 'pooled_prompt_embeds' [B, P], row i = prompt i, for "
                + "--prompt-embeds. Only the text encoders are loaded.")
public final class EncodePromptsCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Option(names = "--backend", defaultValue = "flux", description = "Model family (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = {"--model-path", "--model_path"}, paramLabel = "DIR", description = "Model (default: the backend's).")
    String modelPath;

    @Option(names = {"--prompt-file", "--prompt_file"}, paramLabel = "FILE", description = "Prompts, one a line (or .tsv with a Prompt column).")
    Path promptFile;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "A prompt (repeatable; after those of --prompt-file).")
    List<String> prompts = new ArrayList<>();

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "The embeddings file to write.")
    Path output;

    @Option(names = "--device", paramLabel = "cpu|gpu", description = "Where to encode (default: the first GPU, else the CPU).")
    String device;

    @Option(names = "--gpus", paramLabel = "IDS", description = "GPU to encode on (the first listed is used).")
    String gpus;

    @Option(names = "--dtype", paramLabel = "TYPE", description = "Compute dtype: bfloat16 or float32 (default: bf16 on GPU, f32 on CPU).")
    String dtype;

    @Option(names = "--verbose", description = "Print stack traces of errors.")
    boolean verbose;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            List<String> list = Prompts.collect(promptFile, prompts);
            Backend b = Backend.named(backend);
            Device d = DeviceChoice.parse(gpus, device).resolve().get(0);
            TensorType type = dtype == null ? DeviceChoice.defaultDtype(List.of(d)) : TensorType.parseCompute(dtype);
            PipelineSpec s = new PipelineSpec(modelPath == null ? b.defaultModel() : modelPath, d, type,
                    EnumSet.of(Component.TEXT_ENCODERS));
            b.checkModel(s);
            long start = System.nanoTime();
            try (ImagePipeline encoder = b.open(s)) {
                TextEmbeddings first = encoder.encode(list.get(0));
                long[] tokenShape = batchShape(list.size(), first.tokens());
                List<HostTensor> pooled = new ArrayList<>();
                SafetensorsWriter w = new SafetensorsWriter()
                        .metadata("prompts", JSON.writeValueAsString(list))
                        .metadata("backend", b.name())
                        .metadata("model", s.model())
                        .add("prompt_embeds", TensorType.F32, tokenShape, 4 * product(tokenShape), channel -> {
                            for (int i = 0; i < list.size(); i++) {
                                TextEmbeddings e = i == 0 ? first : encode(encoder, list.get(i));
                                checkSame(first.tokens(), e.tokens(), list.get(i));
                                pooled.add(e.pooled());
                                ByteBuffer bytes = e.tokens().littleEndianBytes();
                                while (bytes.hasRemaining()) {
                                    channel.write(bytes);
                                }
                            }
                        });
                if (first.pooled() != null) {
                    long[] pooledShape = batchShape(list.size(), first.pooled());
                    w.add("pooled_prompt_embeds", TensorType.F32, pooledShape, 4 * product(pooledShape), channel -> {
                        for (HostTensor p : pooled) {
                            ByteBuffer bytes = p.littleEndianBytes();
                            while (bytes.hasRemaining()) {
                                channel.write(bytes);
                            }
                        }
                    });
                }
                w.write(output);
                out.printf(Locale.ROOT, "encoded %d prompt(s) in %.1f s on %s: prompt_embeds %s%s -> %s%n", list.size(),
                        (System.nanoTime() - start) / 1e9, DeviceChoice.name(d), java.util.Arrays.toString(tokenShape),
                        first.pooled() == null ? "" : ", pooled_prompt_embeds "
                                + java.util.Arrays.toString(batchShape(list.size(), first.pooled())), output);
            }
            out.flush();
            return 0;
        } catch (Exception | OutOfMemoryError e) {
            err.println("hicache encode-prompts: " + Errors.oneLine(e));
            if (verbose) {
                e.printStackTrace(err);
            }
            err.flush();
            return 2;
        }
    }

    private static TextEmbeddings encode(ImagePipeline encoder, String prompt) throws java.io.IOException {
        try {
            return encoder.encode(prompt);
        } catch (java.io.IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new java.io.IOException("encoding '" + prompt + "' failed: " + e.getMessage(), e);
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
        if (!java.util.Arrays.equals(first.shape(), other.shape())) {
            throw new IllegalStateException("prompt '" + prompt + "' encodes to " + java.util.Arrays.toString(other.shape())
                    + ", the first to " + java.util.Arrays.toString(first.shape()));
        }
    }
}
