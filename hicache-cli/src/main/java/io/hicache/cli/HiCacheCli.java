package io.hicache.cli;

import io.hicache.core.runtime.HiCacheRuntime;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code java -jar hicache-cli.jar}. */
@Command(
        name = "hicache",
        mixinStandardHelpOptions = true,
        versionProvider = VersionInfo.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        subcommands = {ReplayCommand.class, InitTinyCommand.class},
        description = "Diffusion-transformer image generation on DJL/PyTorch, accelerated by HiCache "
                + "(Hermite cache-then-forecast).")
public final class HiCacheCli implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Builds the command line (tests use this to run commands in-process). */
    public static CommandLine commandLine() {
        return new CommandLine(new HiCacheCli());
    }

    public static void main(String[] args) {
        // Before anything can touch DJL: never call home, never download.
        HiCacheRuntime.configureOffline();
        System.exit(commandLine().execute(args));
    }
}
