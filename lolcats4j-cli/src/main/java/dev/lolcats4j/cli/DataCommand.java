package dev.lolcats4j.cli;

import picocli.CommandLine.Command;

/** {@code lolcats data}: makes training data; each kind is a subcommand. */
@Command(name = "data", mixinStandardHelpOptions = true,
        description = "Make training data (subcommands: recall).",
        subcommands = {RecallDataCommand.class})
public final class DataCommand implements java.util.concurrent.Callable<Integer> {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** Without a subcommand: usage on stderr, exit 2. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return Main.EXIT_BAD_INPUT;
    }
}
