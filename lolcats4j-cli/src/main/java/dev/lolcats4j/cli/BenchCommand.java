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
            description = "matmul | forward | attention | decode | rss | train | profile | probe | serve | all (default: ${DEFAULT-VALUE}); "
                    + "serve (a load test of lolcats serve on loopback) is not part of all.")
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

    @Option(names = "--sessions", defaultValue = "1,4,16,64", split = ",", paramLabel = "K,...",
            description = "serve: concurrent streaming sessions per round (default: ${DEFAULT-VALUE}).")
    int[] sessions;

    @Option(names = "--prompt-tokens", defaultValue = "2048", paramLabel = "N", description = "serve: prompt tokens per session (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--new-tokens", defaultValue = "64", paramLabel = "N", description = "serve: max_tokens per session (default: ${DEFAULT-VALUE}).")
    int newTokens;

    @Option(names = "--models", defaultValue = "lolcats,softmax", split = ",", paramLabel = "KIND,...",
            description = "serve: lolcats and/or softmax (default: ${DEFAULT-VALUE}).")
    java.util.List<String> kinds;

    @Option(names = "--round-timeout", defaultValue = "900", paramLabel = "S", description = "serve: seconds before a round's clients give up (default: ${DEFAULT-VALUE}).")
    int roundTimeout;

    private static final java.util.List<String> BENCHMARKS =
            java.util.List.of("matmul", "forward", "attention", "decode", "rss", "train", "profile", "probe", "all");

    @Override
    public Integer call() {
        if ("serve".equals(what)) {
            return serveBench();
        }
        if (!BENCHMARKS.contains(what)) {
            throw new BadInputException("bench: unknown benchmark \"" + what + "\"; expected one of " + String.join(", ", BENCHMARKS) + ", serve");
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

    /** {@code bench serve}: the load test of the server (see ServeBench). */
    private int serveBench() {
        if (sessions.length == 0 || java.util.Arrays.stream(sessions).anyMatch(k -> k < 1 || k > 256)) {
            throw new BadInputException("--sessions: expected a list of numbers in 1..256, found " + java.util.Arrays.toString(sessions));
        }
        if (promptTokens < 1 || promptTokens > 32768) {
            throw new BadInputException("--prompt-tokens: expected 1..32768, found " + promptTokens);
        }
        if (newTokens < 2 || newTokens > 4096) {
            throw new BadInputException("--new-tokens: expected 2..4096, found " + newTokens);
        }
        for (String kind : kinds) {
            if (!kind.equals("lolcats") && !kind.equals("softmax")) {
                throw new BadInputException("--models: expected lolcats and/or softmax, found \"" + kind + "\"");
            }
        }
        if (roundTimeout < 10) {
            throw new BadInputException("--round-timeout: expected >= 10 seconds, found " + roundTimeout);
        }
        Natives.init();
        PrintWriter err = spec.commandLine().getErr();
        java.util.Map<String, Object> result = dev.lolcats4j.server.ServeBench.run(
                new dev.lolcats4j.server.ServeBench.Options(sessions, promptTokens, newTokens, kinds, roundTimeout), line -> {
                    err.println(line);
                    err.flush();
                });
        PrintWriter out = spec.commandLine().getOut();
        out.println(BenchMain.toJson(result));
        out.flush();
        return Main.EXIT_OK;
    }
}
