package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.bench.BenchMain;
import dev.lolcats4j.bench.ModelShape;
import dev.lolcats4j.bench.Options;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.ModelConfigReader;
import dev.lolcats4j.torch.Natives;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code lolcats bench [what] [--json]}: the benchmark runners of the bench module. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Benchmarks: matmul, forward, attention, decode, rss, train.",
                "Every result starts with what it is judged against, measured in the same run: the CPU's model and flags, "
                + "the matmul dtype (--dtype, by default chosen by the same rule as every command), the f32/bf16 GEMM "
                + "rates and the memory bandwidth. matmul (GEMM GFLOP/s per dtype, bandwidth, matrix-vector), forward "
                + "(prefill and decode of a synthetic ~125M Llama), attention (hybrid vs softmax vs quadratic "
                + "forward+backward over n = 512..16384), decode (linearized vs softmax per-token time, path and state "
                + "bytes at contexts 512..32768), rss (resident memory over a long decode loop), train (stage 1 and 2 "
                + "tokens/s against the same model's prefill; any shape with the flags below or --config), or all. "
                + "No step runs for minutes on a slow path: sizes are capped or skipped with a note. "
                + "Progress goes to stderr, results to stdout."})
public final class BenchCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", defaultValue = "all", paramLabel = "WHAT",
            description = "matmul | forward | attention | decode | rss | train | profile | probe | serve | all (default: ${DEFAULT-VALUE}); "
                    + "serve (a load test of lolcats serve on loopback) is not part of all.")
    String what;

    @Option(names = "--json", description = "Print the result as JSON (it always is; kept for scripts).")
    boolean json;

    @Option(names = "--dtype", paramLabel = Dtypes.LABEL, defaultValue = "auto", description = Dtypes.DESCRIPTION)
    String dtype;

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

    @Option(names = "--prompt-tokens", converter = Flags.Positive.class, defaultValue = "2048", paramLabel = "N", description = "serve: prompt tokens per session (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--new-tokens", converter = Flags.Positive.class, defaultValue = "64", paramLabel = "N", description = "serve: max_tokens per session (default: ${DEFAULT-VALUE}).")
    int newTokens;

    @Option(names = "--models", defaultValue = "lolcats,softmax", split = ",", paramLabel = "KIND,...",
            description = "serve: lolcats and/or softmax (default: ${DEFAULT-VALUE}).")
    java.util.List<String> kinds;

    @Option(names = "--round-timeout", converter = Flags.Positive.class, defaultValue = "900", paramLabel = "S", description = "serve: seconds before a round's clients give up (default: ${DEFAULT-VALUE}).")
    int roundTimeout;

    @Option(names = "--config", paramLabel = "F", description = "bench train: the model shape from a Hugging Face config.json (file or folder).")
    Path config;

    @Option(names = "--hidden", converter = Flags.ModelSize.class, description = "bench train: hidden size (default: 768, the ~125M bench shape).")
    Integer hidden;

    @Option(names = "--layers", converter = Flags.ModelSize.class, description = "bench train: decoder layers (default: 12).")
    Integer layers;

    @Option(names = "--heads", converter = Flags.ModelSize.class, description = "bench train: attention heads (default: 12).")
    Integer heads;

    @Option(names = "--kv-heads", converter = Flags.ModelSize.class, description = "bench train: key/value heads (default: 4).")
    Integer kvHeads;

    @Option(names = "--intermediate", converter = Flags.ModelSize.class, description = "bench train: MLP width (default: 2048).")
    Integer intermediate;

    @Option(names = "--vocab", converter = Flags.ModelSize.class, description = "bench train: vocabulary size (default: 32000).")
    Integer vocab;

    @Option(names = "--seq-len", converter = Flags.SequenceTokens.class, description = "bench train: tokens per sequence (default: 1024).")
    Integer seqLen;

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
        if (!(memoryBudgetGib > 0) || Double.isInfinite(memoryBudgetGib)) {
            throw new BadInputException("--memory-budget-gib: expected a positive number, found " + memoryBudgetGib);
        }
        ModelShape shape = shape();
        Options options = new Options(warmup, iterations, quick, (long) (memoryBudgetGib * (1L << 30)), Dtypes.parse(dtype), shape);
        Natives.init();
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

    /** The shape of bench train from --config or the flags (null: the default bench model), checked before anything runs. */
    ModelShape shape() {
        boolean flags = hidden != null || layers != null || heads != null || kvHeads != null || intermediate != null || vocab != null;
        if (config == null && !flags && seqLen == null) {
            return null;
        }
        if (!"train".equals(what)) {
            throw new BadInputException("--config, --hidden, --layers, --heads, --kv-heads, --intermediate, --vocab and --seq-len "
                    + "are for 'bench train', found with 'bench " + what + "'");
        }
        if (config != null && flags) {
            throw new BadInputException("--config and the shape flags (--hidden ...): give one or the other");
        }
        int length = seqLen == null ? 1024 : seqLen;
        positive("--seq-len", length, 2, 1 << 17);
        ModelConfig c;
        if (config != null) {
            if (!Files.exists(config)) {
                throw new BadInputException("--config " + config + ": not found");
            }
            c = ModelConfigReader.read(config);
        } else {
            int h = hidden == null ? 768 : hidden;
            int l = layers == null ? 12 : layers;
            int q = heads == null ? 12 : heads;
            int kv = kvHeads == null ? 4 : kvHeads;
            int i = intermediate == null ? 2048 : intermediate;
            int v = vocab == null ? 32000 : vocab;
            positive("--hidden", h, 8, 1 << 16);
            positive("--layers", l, 1, 1024);
            positive("--heads", q, 1, 1024);
            positive("--kv-heads", kv, 1, 1024);
            positive("--intermediate", i, 1, 1 << 18);
            positive("--vocab", v, 2, 1 << 22);
            if (h % q != 0 || q % kv != 0) {
                throw new BadInputException("--hidden " + h + ", --heads " + q + ", --kv-heads " + kv
                        + ": expected hidden a multiple of heads and heads a multiple of kv-heads");
            }
            if ((h / q) % 2 != 0) {
                throw new BadInputException("--hidden / --heads = " + (h / q) + ": expected an even head dimension (RoPE)");
            }
            c = ModelConfig.llama(v, h, i, l, q, kv);
        }
        checkFits(c, length);
        return new ModelShape(c, length);
    }

    /** bf16 weights, float32 copies and the optimiser's working set must fit in this machine's memory. */
    private static void checkFits(ModelConfig c, int length) {
        long total = totalMemoryBytes();
        // bf16 weights + float32 matmul copies, plus a rough activation estimate for one sequence.
        double bytes = 6.0 * c.parameterCount()
                + 4.0 * length * ((double) c.hiddenSize() * 16 + c.intermediateSize() * 4.0 + c.vocabSize() * 3.0) * Math.max(1, c.numLayers() / 4);
        if (total > 0 && bytes > 0.9 * total) {
            throw new BadInputException(String.format(Locale.ROOT,
                    "bench train: a %,d-parameter model at --seq-len %d needs about %.1f GiB; this machine has %.1f GiB",
                    c.parameterCount(), length, bytes / (1L << 30), total / (double) (1L << 30)));
        }
    }

    private static long totalMemoryBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.substring(9).trim().split("\\s+")[0]) * 1024;
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    private static void positive(String flag, int value, int min, int max) {
        if (value < min || value > max) {
            throw new BadInputException(flag + ": expected " + min + " to " + max + ", found " + value);
        }
    }
}
