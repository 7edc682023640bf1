package io.hicache.flux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.TensorAssert;
import io.hicache.core.weights.CheckpointMismatchException;
import io.hicache.core.weights.SafetensorsWriter;
import io.hicache.core.weights.WeightStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading the diffusers (single and sharded) and BFL layouts, and reporting mismatched checkpoints. */
class FluxCheckpointTest {
    @TempDir
    Path dir;

    Path writeModel(Path modelDir, boolean sharded) throws IOException {
        TinyFlux.write(modelDir, TinyFlux.config(), 1, TensorType.F32, sharded);
        return modelDir;
    }

    @Test
    void bflAndDiffusersLayoutsGiveIdenticalResults() throws IOException {
        Path model = writeModel(dir.resolve("model"), false);
        Path bfl = model.resolve(TinyFlux.BFL_FILE);
        TinyFlux.writeBfl(bfl, TinyFlux.config(), 1, TensorType.F32);
        CacheConfig cache = CacheConfig.of(CacheMode.HICACHE).withInterval(2);
        try (TinyModel diffusers = new TinyModel(model, TensorType.F32);
                TinyModel single = new TinyModel(bfl, model, TensorType.F32)) {
            TensorAssert.assertBitEqual(diffusers.run(6, cache).latents(), single.run(6, cache).latents(),
                    "BFL vs diffusers");
        }
    }

    /** The BFL fixture itself follows docs/models.md §2.8: fused rows q, k, v (, mlp) and the final layer as (shift, scale). */
    @Test
    void bflFixtureFollowsTheDocumentedLayout() throws IOException {
        Path model = writeModel(dir.resolve("model"), false);
        Path bfl = dir.resolve("flux1-tiny.safetensors");
        TinyFlux.writeBfl(bfl, TinyFlux.config(), 1, TensorType.F32);
        try (WeightStore b = WeightStore.open(bfl); WeightStore d = WeightStore.open(model.resolve("transformer"));
                NDManager m = NDManager.newBaseManager()) {
            BiFunction<String, String, NDArray> rows = (name, range) -> {
                try {
                    return b.get(name, m).get(new NDIndex(range));
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            };
            String q = "transformer_blocks.0.attn.";
            TensorAssert.assertBitEqual(d.get(q + "to_q.weight", m), rows.apply("double_blocks.0.img_attn.qkv.weight", "0:32"), "q");
            TensorAssert.assertBitEqual(d.get(q + "to_k.weight", m), rows.apply("double_blocks.0.img_attn.qkv.weight", "32:64"), "k");
            TensorAssert.assertBitEqual(d.get(q + "add_v_proj.bias", m), rows.apply("double_blocks.0.txt_attn.qkv.bias", "64:96"), "txt v");
            TensorAssert.assertBitEqual(d.get("single_transformer_blocks.1.attn.to_v.weight", m),
                    rows.apply("single_blocks.1.linear1.weight", "64:96"), "single v");
            TensorAssert.assertBitEqual(d.get("single_transformer_blocks.1.proj_mlp.bias", m),
                    rows.apply("single_blocks.1.linear1.bias", "96:224"), "single mlp");
            NDArray normOut = d.get("norm_out.linear.weight", m);
            TensorAssert.assertBitEqual(normOut.get(new NDIndex("32:64")),
                    rows.apply("final_layer.adaLN_modulation.1.weight", "0:32"), "BFL first half = shift");
            TensorAssert.assertBitEqual(normOut.get(new NDIndex("0:32")),
                    rows.apply("final_layer.adaLN_modulation.1.weight", "32:64"), "BFL second half = scale");
            // per double block two fused qkv (6 → 2 tensors each), per single block linear1 (8 → 2)
            assertEquals(d.names().size() - 2 * 2 * 4 - 2 * 6, b.names().size(), "fused tensors");
        }
    }

    @Test
    void shardedCheckpointLoadsTheSameWeights() throws IOException {
        Path single = writeModel(dir.resolve("single"), false);
        Path sharded = writeModel(dir.resolve("sharded"), true);
        Path t = sharded.resolve("transformer");
        assertTrue(Files.isRegularFile(t.resolve("diffusion_pytorch_model.safetensors.index.json")));
        assertTrue(Files.isRegularFile(t.resolve("diffusion_pytorch_model-00001-of-00002.safetensors")));
        assertTrue(Files.isRegularFile(t.resolve("diffusion_pytorch_model-00002-of-00002.safetensors")));
        try (TinyModel a = new TinyModel(single, TensorType.F32); TinyModel b = new TinyModel(sharded, TensorType.F32)) {
            TensorAssert.assertBitEqual(a.run(2, null).latents(), b.run(2, null).latents(), "sharded vs single file");
        }
    }

    /** Copies a safetensors file, letting {@code edit} drop (return null) or replace tensors, and add some. */
    static void rewrite(Path src, Path dst, BiFunction<String, NDArray, NDArray> edit, Map<String, NDArray> extra)
            throws IOException {
        try (WeightStore in = WeightStore.open(src); NDManager m = NDManager.newBaseManager()) {
            SafetensorsWriter w = new SafetensorsWriter();
            for (String n : in.names()) {
                NDArray x = edit.apply(n, in.get(n, m));
                if (x != null) {
                    w.add(n, x);
                }
            }
            extra.forEach(w::add);
            w.write(dst);
        }
    }

    @Test
    void diffusersMismatchesAreListedByName() throws IOException {
        Path model = writeModel(dir.resolve("model"), false);
        Path file = model.resolve("transformer").resolve("diffusion_pytorch_model.safetensors");
        Path edited = dir.resolve("edited.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            rewrite(file, edited, (n, x) -> n.equals("transformer_blocks.1.attn.to_k.weight") ? null
                    : n.equals("proj_out.bias") ? x.get(new NDIndex("0:63")) : x,
                    Map.of("transformer_blocks.1.attn.extra.weight", m.zeros(new ai.djl.ndarray.types.Shape(2, 2))));
        }
        Files.move(edited, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (NDManager m = NDManager.newBaseManager()) {
            CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                    () -> FluxTransformer.load(model, TensorType.F32, m));
            assertEquals(List.of("transformer_blocks.1.attn.to_k.weight"), e.missing());
            assertEquals(List.of("transformer_blocks.1.attn.extra.weight"), e.unexpected());
            assertEquals(List.of("proj_out.bias has shape [63], expected [64]"), e.wrongShapes());
            for (String n : List.of("transformer_blocks.1.attn.to_k.weight", "transformer_blocks.1.attn.extra.weight",
                    "proj_out.bias")) {
                assertTrue(e.getMessage().contains(n), e.getMessage());
            }
        }
    }

    @Test
    void bflMismatchesAreListedWithDiffusersNames() throws IOException {
        Path model = writeModel(dir.resolve("model"), false);
        Path original = dir.resolve("original.safetensors");
        TinyFlux.writeBfl(original, TinyFlux.config(), 1, TensorType.F32);
        Path bfl = model.resolve(TinyFlux.BFL_FILE);
        try (NDManager m = NDManager.newBaseManager()) {
            rewrite(original, bfl, (n, x) -> n.equals("double_blocks.1.img_attn.qkv.weight") ? null
                    : n.equals("single_blocks.0.linear1.bias") ? x.get(new NDIndex("0:200")) : x,
                    Map.of("double_blocks.1.img_attn.bogus.weight", m.zeros(new ai.djl.ndarray.types.Shape(2))));
        }
        try (NDManager m = NDManager.newBaseManager()) {
            CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                    () -> FluxTransformer.load(bfl, TensorType.F32, m));
            assertEquals(List.of("transformer_blocks.1.attn.to_q.weight", "transformer_blocks.1.attn.to_k.weight",
                    "transformer_blocks.1.attn.to_v.weight"), e.missing());
            assertEquals(List.of("double_blocks.1.img_attn.bogus.weight"), e.unexpected());
            assertEquals(List.of("single_transformer_blocks.0.proj_mlp.bias has shape [104], expected [128]"),
                    e.wrongShapes());
            assertTrue(e.getMessage().contains("BFL single-file checkpoint"), e.getMessage());
        }
    }

    @Test
    void explainsMissingConfigs() throws IOException {
        Path lone = dir.resolve("lone");
        Files.createDirectories(lone);
        Path bfl = lone.resolve(TinyFlux.BFL_FILE);
        TinyFlux.writeBfl(bfl, TinyFlux.config(), 1, TensorType.F32);
        try (NDManager m = NDManager.newBaseManager()) {
            NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> FluxTransformer.load(bfl, TensorType.F32, m));
            assertTrue(e.getMessage().contains("transformer/config.json"), e.getMessage());
            NoSuchFileException d = assertThrows(NoSuchFileException.class, () -> FluxTransformer.load(lone, TensorType.F32, m));
            assertTrue(d.getMessage().contains("not a FLUX model directory"), d.getMessage());
        }
    }
}
