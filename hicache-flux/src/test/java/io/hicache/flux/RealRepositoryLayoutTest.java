package io.hicache.flux;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.hicache.core.cache.CacheConfig;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.GenerationRequest;
import io.hicache.core.pipeline.GenerationResult;
import io.hicache.core.pipeline.ImagePipeline;
import io.hicache.core.pipeline.PipelineSpec;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.SafetensorsFile;
import io.hicache.core.weights.SafetensorsWriter;
import io.hicache.core.util.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A folder laid out exactly like the black-forest-labs/FLUX.1-dev repository (docs/models.md
 * §2.1: the same file and folder names, the transformer in three shards and T5 in two, each with its
 * index, plus the BFL single-file transformer at the top) but holding tiny weights, loads through
 * the public API both as a diffusers folder and through {@code flux1-dev.safetensors}. This is the
 * proof that a user's downloaded folder will load. (Not reproduced: {@code spiece.model}, the slow
 * T5 tokenizer, which this project does not read, and BFL's {@code ae.safetensors}.)
 */
class RealRepositoryLayoutTest {
    static final List<String> REPOSITORY_FILES = List.of(
            "flux1-dev.safetensors",
            "model_index.json",
            "scheduler/scheduler_config.json",
            "text_encoder/config.json",
            "text_encoder/model.safetensors",
            "text_encoder_2/config.json",
            "text_encoder_2/model-00001-of-00002.safetensors",
            "text_encoder_2/model-00002-of-00002.safetensors",
            "text_encoder_2/model.safetensors.index.json",
            "tokenizer/merges.txt",
            "tokenizer/special_tokens_map.json",
            "tokenizer/tokenizer_config.json",
            "tokenizer/vocab.json",
            "tokenizer_2/special_tokens_map.json",
            "tokenizer_2/tokenizer.json",
            "tokenizer_2/tokenizer_config.json",
            "transformer/config.json",
            "transformer/diffusion_pytorch_model-00001-of-00003.safetensors",
            "transformer/diffusion_pytorch_model-00002-of-00003.safetensors",
            "transformer/diffusion_pytorch_model-00003-of-00003.safetensors",
            "transformer/diffusion_pytorch_model.safetensors.index.json",
            "vae/config.json",
            "vae/diffusion_pytorch_model.safetensors");

    @TempDir
    Path dir;

    @Test
    void aDownloadedFluxDevFolderLoadsAsFolderAndAsBflFile() throws Exception {
        Path repo = dir.resolve("FLUX.1-dev");
        SyntheticFluxModels.writeTiny(repo, 42, TensorType.BF16, true);
        reshardTransformerIntoThree(repo.resolve("transformer"));
        AtomicFiles.writeString(repo.resolve("tokenizer_2/special_tokens_map.json"),
                "{\"eos_token\":\"</s>\",\"pad_token\":\"<pad>\",\"unk_token\":\"<unk>\"}\n");
        TinyFlux.writeBfl(repo.resolve("flux1-dev.safetensors"), SyntheticFluxModels.tinyTransformerConfig(), 42, TensorType.BF16);

        try (Stream<Path> files = Files.walk(repo)) {
            assertEquals(new TreeSet<>(REPOSITORY_FILES), files.filter(Files::isRegularFile)
                    .map(p -> repo.relativize(p).toString()).collect(Collectors.toCollection(TreeSet::new)));
        }

        GenerationRequest request = GenerationRequest.of("a glass greenhouse in the snow", 9,
                CacheConfig.defaults().withInterval(3)).withSize(64, 64).withSteps(6);
        GenerationResult fromFolder;
        try (ImagePipeline p = Backend.named("flux").open(PipelineSpec.full(repo.toString(), Device.cpu(), TensorType.F32))) {
            fromFolder = p.generate(request);
        }
        try (ImagePipeline p = Backend.named("flux").open(
                PipelineSpec.full(repo.resolve("flux1-dev.safetensors").toString(), Device.cpu(), TensorType.F32))) {
            assertEquals(fromFolder.latents(), p.generate(request).latents(),
                    "the BFL single file and the sharded diffusers transformer are the same model");
        }
    }

    /** Rewrites the transformer as three shards named as in the FLUX.1-dev repository, with an index. */
    static void reshardTransformerIntoThree(Path transformer) throws IOException {
        Path single = transformer.resolve("diffusion_pytorch_model.safetensors");
        Map<String, String> weightMap = new TreeMap<>();
        long total = 0;
        try (SafetensorsFile f = SafetensorsFile.open(single); NDManager m = NDManager.newBaseManager()) {
            List<String> names = new ArrayList<>(f.names());
            for (int shard = 0; shard < 3; shard++) {
                String file = String.format("diffusion_pytorch_model-%05d-of-00003.safetensors", shard + 1);
                SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
                for (int i = shard; i < names.size(); i += 3) {
                    w.add(names.get(i), f.tensor(names.get(i), m));
                    weightMap.put(names.get(i), file);
                    total += f.info(names.get(i)).byteSize();
                }
                w.write(transformer.resolve(file));
            }
        }
        Files.delete(single);
        StringBuilder json = new StringBuilder("{\"metadata\":{\"total_size\":" + total + "},\"weight_map\":{");
        String sep = "";
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            json.append(sep).append('"').append(e.getKey()).append("\":\"").append(e.getValue()).append('"');
            sep = ",";
        }
        AtomicFiles.writeString(transformer.resolve("diffusion_pytorch_model.safetensors.index.json"), json + "}}\n");
    }
}
