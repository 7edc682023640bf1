package io.hicache.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hicache.core.pipeline.Backend;
import io.hicache.core.pipeline.HostTensor;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.testing.IsolatedHicacheHome;
import io.hicache.core.weights.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** --negative-prompt and --true-cfg-scale on FLUX, and sampling defaults that come from the model. */
@ExtendWith(IsolatedHicacheHome.class)
class TrueCfgCliTest {
    @TempDir
    Path dir;

    Path model;

    @BeforeEach
    void writeModel() throws Exception {
        model = dir.resolve("model");
        Backend.named("flux").writeTinyModel(model, 5, TensorType.F32, false);
    }

    /** Generates one latent image of "a red fox" with {@code extra} options; returns its latents. */
    float[] latents(String name, String... extra) throws Exception {
        Path out = dir.resolve(name);
        List<String> args = new ArrayList<>(List.of("--model-path", model.toString(), "--device", "cpu", "--dtype",
                "float32", "--mode", "HiCache", "--interval", "3", "--steps", "6", "--width", "64", "--height", "64",
                "--output-type", "latent", "--quiet", "--output-dir", out.toString()));
        args.addAll(Arrays.asList(extra));
        if (!args.contains("--prompt-embeds")) {
            args.addAll(List.of("--prompt", "a red fox"));
        }
        CliRun r = CliRun.of(args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("img_0.safetensors"))) {
            return HostTensor.read(f, "latents").data();
        }
    }

    /** The generation parameters a latent file records. */
    static JsonNode parameters(Path latentFile) throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(latentFile)) {
            return new ObjectMapper().readTree(f.metadata().get("parameters"));
        }
    }

    @Test
    void aNegativePromptChangesTheImageOnlyAboveScaleOne() throws Exception {
        float[] plain = latents("plain");
        // FLUX's default true CFG scale is 1: a negative prompt alone changes nothing (diffusers' rule)
        assertArrayEquals(plain, latents("neg-default", "--negative-prompt", "blurry"));
        assertArrayEquals(plain, latents("neg-one", "--negative-prompt", "blurry", "--true-cfg-scale", "1"));
        assertArrayEquals(plain, latents("scale-only", "--true-cfg-scale", "4"), "no negative prompt: no second branch");
        float[] guided = latents("guided", "--negative-prompt", "blurry", "--true-cfg-scale", "3");
        assertFalse(Arrays.equals(plain, guided), "true CFG at scale 3 changes the latents");
        assertEquals(3.0, parameters(dir.resolve("guided").resolve("img_0.safetensors")).get("true_cfg_scale").asDouble());
        assertFalse(parameters(dir.resolve("neg-one").resolve("img_0.safetensors")).has("true_cfg_scale"));

        // the negative prompt's embeddings from encode-prompts give the same image as encoding it in the run
        Path embeds = dir.resolve("E.safetensors");
        CliRun enc = CliRun.of("encode-prompts", "--model-path", model.toString(), "--device", "cpu",
                "--prompt", "a red fox", "--negative-prompt", "blurry", "--output", embeds.toString());
        assertEquals(0, enc.exitCode(), enc.err());
        assertArrayEquals(guided, latents("from-file", "--prompt-embeds", embeds.toString(), "--negative-prompt",
                "blurry", "--true-cfg-scale", "3"));
        assertArrayEquals(guided, latents("from-file-alone", "--prompt-embeds", embeds.toString(),
                "--true-cfg-scale", "3"), "the file's negative embeddings are a negative prompt");

        // embeddings without negatives cannot serve a negative prompt: refused before anything is written
        Path plainEmbeds = dir.resolve("P.safetensors");
        assertEquals(0, CliRun.of("encode-prompts", "--model-path", model.toString(), "--device", "cpu",
                "--prompt", "a red fox", "--output", plainEmbeds.toString()).exitCode());
        CliRun refused = CliRun.of("--model-path", model.toString(), "--device", "cpu", "--prompt-embeds",
                plainEmbeds.toString(), "--negative-prompt", "blurry", "--true-cfg-scale", "3", "--steps", "2",
                "--width", "64", "--height", "64", "--output-type", "latent", "--output-dir",
                dir.resolve("refused").toString());
        assertEquals(2, refused.exitCode(), refused.err());
        assertTrue(refused.err().contains("no negative_prompt_embeds"), refused.err());
        assertFalse(Files.exists(dir.resolve("refused")));
    }

    /** Steps, size and guidance not given come from the model: FLUX.1-dev-style 50 steps and 3.5. */
    @Test
    void samplingDefaultsComeFromTheModel() throws Exception {
        Path out = dir.resolve("defaults");
        CliRun r = CliRun.of("--model-path", model.toString(), "--device", "cpu", "--prompt", "a red fox",
                "--width", "32", "--height", "32", "--mode", "FORA", "--output-type", "latent", "--quiet",
                "--output-dir", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode params = parameters(out.resolve("img_0.safetensors"));
        assertEquals(50, params.get("steps").asInt(), params.toString());
        assertEquals(3.5, params.get("guidance").asDouble(), params.toString());
        assertEquals(32, params.get("width").asInt(), "an option given wins");
    }
}
