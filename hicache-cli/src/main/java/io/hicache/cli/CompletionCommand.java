package io.hicache.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code hicache completion}: prints a bash/zsh completion script for the {@code hicache} command. */
@Command(name = "completion", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = "Prints a bash/zsh completion script for the command 'hicache'.",
        footer = {
            "%nThe script completes a command named 'hicache', e.g. an alias or wrapper script:%n",
            "  alias hicache='java -jar /path/to/hicache-cli.jar'",
            "  source <(hicache completion)      # bash",
            "  autoload -U +X bashcompinit && bashcompinit && source <(hicache completion)      # zsh"
        })
public final class CompletionCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().getOut().print(AutoComplete.bash("hicache", spec.root().commandLine()));
        spec.commandLine().getOut().flush();
    }
}
