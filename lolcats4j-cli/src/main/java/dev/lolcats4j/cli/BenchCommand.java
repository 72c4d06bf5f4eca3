package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.bench.BenchMain;
import dev.lolcats4j.bench.Options;
import dev.lolcats4j.torch.Natives;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code lolcats bench [what] [--json]}: the benchmark runners of the bench module. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmarks: matmul, forward, attention, decode, rss, train.",
                "Measured side by side in one run: matmul (bf16/fp32 GEMM GFLOP/s, memory bandwidth), "
                + "forward (prefill and decode of a synthetic ~100M-parameter Llama in bf16), attention "
                + "(hybrid vs softmax vs quadratic forward+backward over n = 512..16384), decode (linearized vs "
                + "softmax per-token time and state bytes at contexts 512..32768), rss (resident memory over a "
                + "long decode loop), or all. Progress goes to stderr, results to stdout."})
public final class BenchCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", defaultValue = "all", paramLabel = "WHAT",
            description = "matmul | forward | attention | decode | rss | train | profile | probe | all (default: ${DEFAULT-VALUE}).")
    String what;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Option(names = "--quick", description = "Smaller sizes: a smoke test in seconds.")
    boolean quick;

    @Option(names = "--warmup", converter = Flags.NonNegative.class, defaultValue = "2", description = "Untimed iterations (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--iterations", converter = Flags.Positive.class, defaultValue = "5", description = "Timed iterations; the median is reported (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--memory-budget-gib", converter = Flags.PositiveReal.class, defaultValue = "8", description = "Skip sizes estimated above this (default: ${DEFAULT-VALUE}).")
    double memoryBudgetGib;

    private static final java.util.List<String> BENCHMARKS =
            java.util.List.of("matmul", "forward", "attention", "decode", "rss", "train", "profile", "probe", "all");

    @Override
    public Integer call() {
        if (!BENCHMARKS.contains(what)) {
            throw new BadInputException("bench: unknown benchmark \"" + what + "\"; expected one of " + String.join(", ", BENCHMARKS));
        }
        Natives.init();
        Options options = new Options(warmup, iterations, quick, (long) (memoryBudgetGib * (1L << 30)));
        Object result = BenchMain.run(what, options);
        if (result == null) {
            throw new BadInputException("bench: unknown benchmark \"" + what + "\"; expected matmul, forward, attention, decode, rss, train, profile, probe or all");
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(BenchMain.toJson(result));
        out.flush();
        return Main.EXIT_OK;
    }
}
