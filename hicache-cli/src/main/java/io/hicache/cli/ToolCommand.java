package io.hicache.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * A subcommand that either succeeds (exit 0) or fails with one clear line on stderr (exit 2),
 * with the stack trace only under {@code --verbose}.
 */
abstract class ToolCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--verbose", description = "Print stack traces of errors.")
    boolean verbose;

    /** Does the work, writing results to {@code out}. */
    abstract void run(PrintWriter out) throws Exception;

    @Override
    public final Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            run(out);
            out.flush();
            return 0;
        } catch (Exception | OutOfMemoryError e) {
            err.println("hicache: " + Errors.oneLine(e));
            if (verbose) {
                e.printStackTrace(err);
            }
            err.flush();
            return 2;
        }
    }
}
