package io.hicache.cli;

import io.hicache.core.cache.CacheConfig;
import io.hicache.core.cache.CacheMode;
import io.hicache.core.runtime.HiCacheRuntime;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.UsageMessageSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Entry point of {@code java -jar hicache-cli.jar}: the root command generates images from
 * prompts (see {@link BatchRun}); subcommands add tools.
 */
@Command(
        name = "hicache",
        mixinStandardHelpOptions = true,
        versionProvider = VersionInfo.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        showDefaultValues = true,
        subcommands = {ReplayCommand.class, InitTinyCommand.class, EncodePromptsCommand.class, BenchCommand.class, CompletionCommand.class},
        customSynopsis = {
            "hicache [OPTIONS] (--prompt-file FILE | --prompt TEXT...)",
            "       hicache COMMAND [OPTIONS]"
        },
        commandListHeading = "%nCommands:%n",
        description = {
            "%nGenerates images from prompts with a diffusion transformer, accelerated by HiCache "
                    + "(Hermite cache-then-forecast). Workers on every device pull images from one queue; each image "
                    + "is written atomically with its parameters and recorded in manifest.jsonl. Rerunning the same "
                    + "command resumes: finished images are kept, failed and missing ones are made."
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:every image of the run is done",
            "1:some images failed (see manifest.jsonl); rerun the command to retry them",
            "2:bad options or inputs, or the model could not be loaded"
        },
        footerHeading = "%nNotes:%n",
        footer = {
            "Every option also has upstream's snake_case spelling (--prompt_file, --output_dir, --max_order, "
                    + "--num_steps, ...).",
            "Image i (prompt index p, k-th image of its prompt: i = p x images-per-prompt + k) is img_<i>.png "
                    + "with seed --seed + i; --shard k/n makes the images with i mod n = k-1.",
            "Docs: docs/cli.md (files, resume, shards), docs/gpu.md (GPU builds)."
        })
public final class HiCacheCli implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    // Mixins, not argument groups: picocli starts a new group instance, with defaults, when an
    // option of a group is repeated, which would silently reset the group's other options.
    @Mixin
    PromptOptions prompts = new PromptOptions();

    @Mixin
    ModelOptions model = new ModelOptions();

    @Mixin
    CacheOptions cache = new CacheOptions();

    @Mixin
    DeviceOptions devices = new DeviceOptions();

    @Mixin
    OutputOptions output = new OutputOptions();

    @Mixin
    ChipmunkOptions chipmunk = new ChipmunkOptions();

    /** Help sections: an option belongs to the section whose first order number it reaches. */
    private static final Object[][] SECTIONS = {
        {"Prompts", 100}, {"Model and sampling", 200}, {"Cache", 300}, {"Devices", 400}, {"Output", 500},
        {"Chipmunk (--backend chipmunk; docs/chipmunk.md)", 600}
    };

    static final class PromptOptions {
        @Option(order = 101, names = {"--prompt-file", "--prompt_file"}, paramLabel = "FILE",
                description = "UTF-8 text, one prompt a line (blank lines skipped), or .tsv with a Prompt column "
                        + "(and, for --backend qwen-image-edit, an Image column: each row's image, relative to the file).")
        Path promptFile;

        @Option(order = 102, names = "--prompt", paramLabel = "TEXT", showDefaultValue = Help.Visibility.NEVER,
                description = "A prompt; repeatable; comes after the file's prompts.")
        List<String> prompts = new ArrayList<>();

        @Option(order = 103, names = "--image", paramLabel = "FILE",
                description = "The condition image (PNG or JPEG) of every prompt, for image-editing backends "
                        + "(--backend qwen-image-edit).")
        Path image;

        @Option(order = 104, names = {"--negative-prompt", "--negative_prompt"}, paramLabel = "TEXT",
                description = "Negative prompt, for models with true classifier-free guidance.")
        String negativePrompt;

        @Option(order = 105, names = {"--start-index", "--start_index"}, paramLabel = "N",
                description = "Begin at prompt N (0-based); names and seeds keep their global index.")
        int startIndex = 0;

        @Option(order = 106, names = "--limit", paramLabel = "N",
                description = "At most N prompts from the start index (default: all).")
        Integer limit;

        @Option(order = 107, names = {"--num-images-per-prompt", "--num_images_per_prompt"}, paramLabel = "N",
                description = "Images per prompt.")
        int imagesPerPrompt = 1;

        @Option(order = 108, names = "--shard", paramLabel = "K/N",
                description = "Make only shard K of N (1-based) of the images, for cluster array jobs.")
        String shard;

        @Option(order = 109, names = {"--prompt-embeds", "--prompt_embeds"}, paramLabel = "FILE",
                description = "Precomputed text embeddings (safetensors prompt_embeds [B,L,D], pooled_prompt_embeds "
                        + "[B,P]), row = prompt index; the text encoders are then not loaded.")
        Path promptEmbeds;

        @Option(order = 110, names = {"--init-noise", "--init_noise"}, paramLabel = "FILE",
                description = "Initial noise (safetensors latents [B,C,H/8,W/8]), row = image index, "
                        + "instead of the seed.")
        Path initNoise;
    }

    static final class ModelOptions {
        @Option(order = 201, names = "--backend", paramLabel = "NAME", completionCandidates = InstalledBackends.class,
                description = "Model family, one of those installed: ${COMPLETION-CANDIDATES}.")
        String backend = "flux";

        @Option(order = 202, names = {"--model-path", "--model_path", "--model-dir", "--model_dir"},
                paramLabel = "PATH", converter = PathArguments.ModelPath.class,
                description = "Model directory (diffusers layout) or checkpoint (default: the backend's, e.g. "
                        + "resources/weights/FLUX.1-dev).")
        String modelPath;

        @Option(order = 203, names = "--dtype", paramLabel = "TYPE",
                description = "Compute dtype: bfloat16 or float32 (default: bfloat16 on GPUs, float32 on the CPU).")
        String dtype;

        @Option(order = 204, names = {"--steps", "--num-steps", "--num_steps"}, paramLabel = "N",
                description = "Denoising steps (default: the model's, e.g. 50 for FLUX.1-dev, 4 for schnell).")
        Integer steps;

        @Option(order = 205, names = "--width", paramLabel = "PX",
                description = "Image width, a multiple of 16 (default: the model's, e.g. 1024).")
        Integer width;

        @Option(order = 206, names = "--height", paramLabel = "PX",
                description = "Image height, a multiple of 16 (default: the model's, e.g. 1024).")
        Integer height;

        @Option(order = 207, names = {"--guidance", "--guidance-scale", "--guidance_scale"}, paramLabel = "G",
                description = "Guidance scale a guidance-distilled model embeds (default: the model's, e.g. 3.5).")
        Double guidance;

        @Option(order = 208, names = {"--true-cfg-scale", "--true_cfg_scale"}, paramLabel = "S",
                description = "True classifier-free guidance scale, used with --negative-prompt when above 1: "
                        + "v = v_neg + S·(v_cond − v_neg) (default: the model's, 1 = off for FLUX).")
        Double trueCfgScale;

        @Option(order = 209, names = "--seed", paramLabel = "S", description = "Seed of image 0; image i gets S + i.")
        long seed = 0;

        @Option(order = 210, names = {"--edit-area", "--edit_area"}, paramLabel = "PIXELS",
                description = "Image editing: the area the condition image is resized to, keeping its aspect ratio "
                        + "(sides in multiples of 32); the output size follows it unless --width/--height are given "
                        + "(default: 1048576 = 1024x1024, diffusers' value).")
        Long editArea;
    }

    static final class CacheOptions {
        @Option(order = 301, names = {"--mode", "--cache-mode", "--cache_mode"}, paramLabel = "MODE",
                description = "original, FORA, Taylor, Taylor-Scaled, HiCache, HiCache-Analytic (any case); with "
                        + "--backend chipmunk also chipmunk, the same as original (Chipmunk alone).")
        String mode = "HiCache";

        @Option(order = 312, names = {"--measure-forecast-error", "--measure_forecast_error"},
                description = "Also compute forecast steps in full and record the forecast error (slower).")
        boolean measureForecastError;

        @Mixin
        CacheParameterOptions parameters = new CacheParameterOptions();

        /** The cache configuration for {@code backend}: {@code --mode chipmunk} is original on the chipmunk backend. */
        CacheConfig toConfig(String backend) {
            CacheMode m;
            if (mode.trim().equalsIgnoreCase(ChipmunkOptions.BACKEND)) {
                if (!backend.trim().equalsIgnoreCase(ChipmunkOptions.BACKEND)) {
                    throw new UsageException("--mode chipmunk needs --backend chipmunk (the backend is " + backend + ")");
                }
                return parameters.one(CacheMode.ORIGINAL);
            }
            try {
                m = CacheMode.parse(mode);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--mode: " + e.getMessage(), e);
            }
            return parameters.one(m);
        }
    }

    static final class DeviceOptions {
        @Option(order = 401, names = "--gpus", paramLabel = "LIST",
                description = "GPU indices, e.g. 0 or 0,1 (default: every visible GPU, else the CPU).")
        String gpus;

        @Option(order = 402, names = "--device", paramLabel = "cpu|gpu",
                description = "cpu forces the CPU; gpu uses every visible GPU.")
        String device;

        @Option(order = 403, names = "--workers", paramLabel = "N",
                description = "Workers per device, each with its own model replica, at most one per image to make "
                        + "(CPU: the cores are split between them).")
        int workers = 1;

        @Option(order = 404, names = {"--shared-encoder", "--shared_encoder"}, negatable = true, fallbackValue = "true",
                description = "With several workers, encode each prompt once, with one copy of the text encoders, "
                        + "for all of them.")
        boolean sharedEncoder = true;

        @Option(order = 405, names = {"--encode-first", "--encode_first"},
                description = "Encode every prompt before the denoising model loads, then free the text encoders, so "
                        + "they are never in memory next to the transformer (Qwen-Image on one 80 GB GPU).")
        boolean encodeFirst;
    }

    static final class OutputOptions {
        @Option(order = 501, names = {"--output-dir", "--output_dir"}, paramLabel = "DIR",
                description = "Where images, manifest.jsonl, run.json and hicache.log go.")
        Path outputDir = Path.of("outputs");

        @Option(order = 502, names = {"--output-type", "--output_type"}, paramLabel = "TYPE",
                description = "png, latent (safetensors latents; no VAE is loaded) or both.")
        String outputType = "png";

        @Option(order = 503, names = "--overwrite",
                description = "Start over: make every image again, replacing existing files.")
        boolean overwrite;

        @Option(order = 504, names = "--verbose", description = "Debug output, with stack traces of errors.")
        boolean verbose;

        @Option(order = 505, names = "--quiet", description = "Only warnings and errors; no progress bar.")
        boolean quiet;
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        Logging.Verbosity verbosity = output.verbose == output.quiet ? Logging.Verbosity.NORMAL
                : output.verbose ? Logging.Verbosity.VERBOSE : Logging.Verbosity.QUIET;
        try {
            if (output.verbose && output.quiet) {
                throw new UsageException("give either --verbose or --quiet, not both");
            }
            CacheConfig cacheConfig = cache.toConfig(model.backend);
            RunConfig config = new RunConfig(model.backend, model.modelPath, model.dtype, devices.gpus, devices.device,
                    devices.workers, devices.sharedEncoder, devices.encodeFirst, prompts.promptFile, List.copyOf(prompts.prompts),
                    prompts.negativePrompt, prompts.startIndex, prompts.limit, prompts.imagesPerPrompt,
                    prompts.shard == null ? Shard.WHOLE : Shard.parse(prompts.shard), model.steps, model.width,
                    model.height, model.guidance, model.trueCfgScale, model.seed, cacheConfig, cache.measureForecastError,
                    prompts.promptEmbeds, prompts.initNoise, prompts.image, model.editArea, output.outputDir,
                    OutputType.parse(output.outputType), output.overwrite, verbosity);
            return new BatchRun(config, spec.commandLine().getParseResult().originalArgs(), cache.parameters.analyticGiven(),
                    chipmunk)
                    .run(err);
        } catch (UsageException e) {
            return BatchRun.usageError(err, e, verbosity);
        }
    }

    /** Builds the command line (tests use this to run commands in-process). */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new HiCacheCli());
        cli.registerConverter(Path.class, new PathArguments.Paths()); // on every subcommand too
        cli.setHelpFactory(KebabCaseHelp::new);
        cli.setOverwrittenOptionsAllowed(true); // the last value wins, as scripts that append overrides expect
        cli.getHelpSectionMap().put(UsageMessageSpec.SECTION_KEY_OPTION_LIST_HEADING, help -> "");
        cli.getHelpSectionMap().put(UsageMessageSpec.SECTION_KEY_OPTION_LIST, HiCacheCli::optionsBySection);
        cli.setParameterExceptionHandler((e, args) -> {
            CommandLine command = e.getCommandLine();
            PrintWriter err = command.getErr();
            err.println("hicache: " + e.getMessage().replace('\n', ' ').trim() + " (see "
                    + (command.getParent() == null ? "" : command.getCommandSpec().qualifiedName() + " ") + "--help)");
            err.flush();
            return 2;
        });
        return cli;
    }

    public static void main(String[] args) {
        // Before anything can touch DJL: never call home, never download.
        HiCacheRuntime.configureOffline();
        System.exit(commandLine().execute(args));
    }

    /** The option list of the help, under a heading per section (see {@link #SECTIONS}). */
    private static String optionsBySection(Help help) {
        List<OptionSpec> options = help.commandSpec().options().stream().filter(o -> !o.hidden())
                .sorted(Comparator.comparingInt(OptionSpec::order)).toList();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i <= SECTIONS.length; i++) {
            boolean general = i == SECTIONS.length; // --help, --version: no order of their own
            int from = general ? Integer.MIN_VALUE : (int) SECTIONS[i][1];
            int to = general ? (int) SECTIONS[0][1]
                    : i + 1 < SECTIONS.length ? (int) SECTIONS[i + 1][1] : Integer.MAX_VALUE;
            List<OptionSpec> section = options.stream().filter(o -> o.order() >= from && o.order() < to).toList();
            text.append(String.format("%n%s:%n", general ? "General" : SECTIONS[i][0]))
                    .append(help.optionListExcludingGroups(section));
        }
        return text.toString();
    }

    /**
     * Help that lists options by their kebab-case names only: the snake_case aliases work but would
     * double the width of the option column (the footer mentions them).
     */
    static final class KebabCaseHelp extends Help {
        KebabCaseHelp(CommandSpec spec, ColorScheme scheme) {
            super(spec, scheme);
        }

        @Override
        public IOptionRenderer createDefaultOptionRenderer() {
            IOptionRenderer renderer = super.createDefaultOptionRenderer();
            return (option, labels, scheme) -> {
                String[] kebab = Arrays.stream(option.names()).filter(n -> !n.contains("_")).toArray(String[]::new);
                if (kebab.length == option.names().length || kebab.length == 0) {
                    return renderer.render(option, labels, scheme);
                }
                // a copy with fewer names, in a throwaway command that renders like the real one
                CommandSpec owner = CommandSpec.create()
                        .negatableOptionTransformer(option.command().negatableOptionTransformer());
                owner.usageMessage().showDefaultValues(option.command().usageMessage().showDefaultValues());
                OptionSpec copy = OptionSpec.builder(option).names(kebab).build();
                owner.addOption(copy);
                return renderer.render(copy, labels, scheme);
            };
        }
    }
}
