package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code lolcats} command. Each subcommand is one class listed in {@code subcommands};
 * adding a command is one line there. Results go to stdout, progress and errors to stderr.
 *
 * <p>Exit codes: 0 success, 2 bad input (one line {@code error: ...}), 1 anything else.
 */
@Command(name = "lolcats",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "LoLCATs linear attention for Hugging Face Llama-family models, on libtorch.",
        subcommands = {
            ScoreCommand.class,
            GenerateCommand.class,
            ServeCommand.class,
            LinearizeCommand.class,
            PretrainCommand.class,
            BenchCommand.class,
            EvalCommand.class,
            MergeCommand.class,
            ImportReferenceCommand.class,
            DemoCommand.class,
            DataCommand.class,
            InfoCommand.class,
        })
public final class Main implements Callable<Integer> {

    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_BAD_INPUT = 2;

    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "Print stack traces of unexpected errors (also LOLCATS_DEBUG=1).")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Without a command: usage on stderr, exit 2. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return EXIT_BAD_INPUT;
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        int code = run(args, out, err);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs one command line with the given streams; returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine cli = commandLine(out, err);
        try {
            return cli.execute(args);
        } catch (OutOfMemoryError e) {
            // The size checks should have refused the job up front; if an estimate was too
            // low, still one clear line instead of a stack trace.
            err.println("error: out of memory (" + oneLine(e.getMessage()) + "); use a smaller model, --seq-len or "
                    + "--micro-batch, or give the JVM more heap (JAVA_OPTS=-Xmx...)");
            err.flush();
            return EXIT_FAILURE;
        }
    }

    /** The configured command line (exception handlers, streams). */
    public static CommandLine commandLine(PrintStream out, PrintStream err) {
        Main main = new Main();
        CommandLine cli = new CommandLine(main);
        cli.setOut(new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true));
        cli.setErr(new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true));
        cli.setParameterExceptionHandler((ex, args) -> {
            CommandLine bad = ex.getCommandLine();
            PrintWriter w = bad.getErr();
            w.println("error: " + oneLine(ex.getMessage()).replaceFirst("^Error: ", "") + " (see '" + bad.getCommandSpec().qualifiedName() + " --help')");
            w.flush();
            return EXIT_BAD_INPUT;
        });
        cli.setExecutionExceptionHandler((ex, bad, parseResult) -> {
            PrintWriter w = bad.getErr();
            bad.getOut().flush();
            if (ex instanceof BadInputException) {
                w.println("error: " + oneLine(ex.getMessage()));
                if (debug(main)) {
                    ex.printStackTrace(w);
                }
                w.flush();
                return EXIT_BAD_INPUT;
            }
            String message = ex.getMessage() == null ? ex.getClass().getName() : ex.getClass().getSimpleName() + ": " + oneLine(ex.getMessage());
            w.println("error: " + message);
            if (debug(main)) {
                ex.printStackTrace(w);
            } else {
                w.println("(run with --verbose or LOLCATS_DEBUG=1 for the stack trace)");
            }
            w.flush();
            return EXIT_FAILURE;
        });
        return cli;
    }

    private static boolean debug(Main main) {
        return main.verbose || "1".equals(System.getenv("LOLCATS_DEBUG"));
    }

    static String oneLine(String message) {
        if (message == null) {
            return "";
        }
        return message.strip().replaceAll("\\s*\\R\\s*", "; ");
    }

    /**
     * "lolcats4j VERSION" from the jar manifest (or "dev" when run from classes), the JVM, and
     * one line on the CPU with its cached GEMM rates (no probe here: 'lolcats info' measures).
     */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {
                "lolcats4j " + (v == null ? "dev" : v),
                "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")",
                cpuLine(),
            };
        }

        static String cpuLine() {
            try {
                dev.lolcats4j.cpu.CpuInfo cpu = dev.lolcats4j.cpu.Capabilities.cpu();
                String rates = dev.lolcats4j.cpu.Capabilities.cachedRates()
                        .map(r -> String.format(java.util.Locale.ROOT, "; GEMM f32 %.0f, bf16 %.0f GFLOP/s; --dtype auto -> %s",
                                r.f32Gflops(), r.bf16Gflops(),
                                dev.lolcats4j.cpu.DtypeRule.auto(cpu, () -> r).dtypeName()))
                        .orElse("; GEMM rates not measured yet ('lolcats info')");
                return "CPU " + cpu.summary() + rates;
            } catch (RuntimeException | LinkageError e) {
                return "CPU unknown (" + e.getClass().getSimpleName() + ")";
            }
        }
    }
}
