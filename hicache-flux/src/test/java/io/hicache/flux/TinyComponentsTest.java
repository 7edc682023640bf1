package io.hicache.flux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.TensorAssert;
import io.hicache.flux.text.ClipTextEncoder;
import io.hicache.flux.text.ClipTokenizer;
import io.hicache.flux.text.T5Encoder;
import io.hicache.flux.text.T5Tokenizer;
import io.hicache.flux.text.TinyClip;
import io.hicache.flux.text.TinyT5;
import io.hicache.flux.vae.TinyVae;
import io.hicache.flux.vae.VaeDecoder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tiny text encoders, tokenizers and VAE written into one diffusers-layout folder, loaded back
 * through the public loaders and run end to end, with load and warm run times and the f32 vs bf16
 * difference of each component printed.
 */
class TinyComponentsTest {
    /**
     * Guard against pathologies only: warm runs take 2–20 ms on an idle 2-core machine, but the cores
     * are shared with other builds, which was seen to slow them 20×.
     */
    static final double MAX_WARM_MS = 3000;

    @TempDir
    Path root;

    static double millis(Runnable r) {
        long t = System.nanoTime();
        r.run();
        return (System.nanoTime() - t) / 1e6;
    }

    /** Median of 5 warm runs after 2 warm-ups. */
    static double warm(Runnable r) {
        r.run();
        r.run();
        List<Double> t = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            t.add(millis(r));
        }
        t.sort(null);
        return t.get(2);
    }

    static <T> T timed(String what, List<String> log, Supplier<T> load) {
        long t = System.nanoTime();
        T v = load.get();
        log.add(String.format("%-28s load %6.1f ms", what, (System.nanoTime() - t) / 1e6));
        return v;
    }

    interface IoSupplier<T> {
        T get() throws IOException;
    }

    static <T> Supplier<T> io(IoSupplier<T> s) {
        return () -> {
            try {
                return s.get();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
    }

    @Test
    void tinyModelFolderRunsEndToEnd() throws IOException {
        TinyClip.write(root.resolve("text_encoder"), 1, TensorType.BF16);
        TinyT5.write(root.resolve("text_encoder_2"), 2, TensorType.BF16, true);
        TinyClip.writeTokenizer(root.resolve("tokenizer"));
        TinyT5.writeTokenizer(root.resolve("tokenizer_2"));
        TinyVae.write(root.resolve("vae"), 3, TensorType.BF16);
        for (String f : List.of("text_encoder/config.json", "text_encoder/model.safetensors",
                "text_encoder_2/model.safetensors.index.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
                "tokenizer_2/tokenizer.json", "vae/config.json", "vae/diffusion_pytorch_model.safetensors")) {
            assertTrue(Files.isRegularFile(root.resolve(f)), f);
        }
        List<String> prompts = List.of("A photo of a cat riding a horse at sunset", "an astronaut in the city, at night!");
        List<String> log = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager();
                ClipTokenizer clipTok = timed("CLIP tokenizer", log, io(() -> ClipTokenizer.load(root.resolve("tokenizer"))));
                T5Tokenizer t5Tok = timed("T5 tokenizer (256)", log,
                        io(() -> T5Tokenizer.load(root.resolve("tokenizer_2"), T5Tokenizer.SCHNELL_MAX_LENGTH)))) {
            NDArray clipIds = clipTok.encode(prompts, m);
            NDArray t5Ids = t5Tok.encode(prompts, m);
            log.add(String.format("%-28s warm %6.2f ms", "tokenize 2 prompts (both)",
                    warm(() -> { clipTok.encode(prompts, m).close(); t5Tok.encode(prompts, m).close(); })));
            NDArray[] clipOut = new NDArray[2];
            NDArray[] t5Out = new NDArray[2];
            NDArray[] images = new NDArray[2];
            NDArray latents = m.randomNormal(new Shape(1, 16, 8, 8));
            TensorType[] types = {TensorType.F32, TensorType.BF16};
            for (int i = 0; i < 2; i++) {
                TensorType t = types[i];
                String d = t.displayName();
                try (ClipTextEncoder clip = timed("CLIP " + d, log, io(() -> ClipTextEncoder.load(root.resolve("text_encoder"), t, m)));
                        T5Encoder t5 = timed("T5 " + d, log, io(() -> T5Encoder.load(root.resolve("text_encoder_2"), t, m)));
                        VaeDecoder vae = timed("VAE " + d, log, io(() -> VaeDecoder.load(root.resolve("vae"), t, m)))) {
                    clipOut[i] = clip.encode(clipIds).pooled();
                    t5Out[i] = t5.encode(t5Ids);
                    images[i] = vae.decode(latents);
                    double c = warm(() -> clip.encode(clipIds).close());
                    double e = warm(() -> t5.encode(t5Ids).close());
                    double v = warm(() -> vae.decode(latents).close());
                    log.add(String.format("%-28s warm %6.2f ms", "CLIP 2×77 " + d, c));
                    log.add(String.format("%-28s warm %6.2f ms", "T5 2×256 " + d, e));
                    log.add(String.format("%-28s warm %6.2f ms", "VAE 8×8 → 64×64 " + d, v));
                    assertTrue(c < MAX_WARM_MS && e < MAX_WARM_MS && v < MAX_WARM_MS, c + " " + e + " " + v);
                }
            }
            assertArrayEquals(new long[] {2, 32}, clipOut[0].getShape().getShape());
            assertArrayEquals(new long[] {2, 256, 32}, t5Out[0].getShape().getShape());
            assertArrayEquals(new long[] {1, 3, 64, 64}, images[0].getShape().getShape());
            log.add(String.format("f32 vs bf16 max rel diff: CLIP pooled %.3g, T5 %.3g, VAE image %.3g",
                    TensorAssert.maxRelDiff(clipOut[0], clipOut[1]), TensorAssert.maxRelDiff(t5Out[0], t5Out[1]),
                    TensorAssert.maxRelDiff(images[0], images[1])));
        }
        System.out.println("tiny components (bf16 checkpoints):");
        log.forEach(System.out::println);
    }
}
