package dev.lolcats4j.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code bench [matmul|forward|attention|decode|rss|train|profile|probe|all] [--json] [--quick]
 * [--warmup N] [--iterations N] [--memory-budget-gib G]}: runs the plain benchmark runners
 * and prints their results (JSON on stdout with --json); progress goes to stderr.
 */
public final class BenchMain {

    public static final String USAGE = "usage: bench [matmul|forward|attention|decode|rss|train|profile|probe|all] [--json] [--quick] "
            + "[--warmup N] [--iterations N] [--memory-budget-gib G]";

    private BenchMain() {}

    public static void main(String[] args) {
        String what = "all";
        boolean json = false;
        Options o = Options.defaults();
        int warmup = o.warmup();
        int iterations = o.iterations();
        boolean quick = false;
        long budget = o.memoryBudgetBytes();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--json" -> json = true;
                case "--quick" -> quick = true;
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--iterations" -> iterations = Integer.parseInt(args[++i]);
                case "--memory-budget-gib" -> budget = (long) (Double.parseDouble(args[++i]) * (1L << 30));
                case "-h", "--help" -> {
                    System.out.println(USAGE);
                    return;
                }
                default -> {
                    if (args[i].startsWith("-")) {
                        System.err.println("bench: unknown option " + args[i] + "; " + USAGE);
                        System.exit(2);
                    }
                    what = args[i];
                }
            }
        }
        Object result = run(what, new Options(warmup, iterations, quick, budget));
        if (result == null) {
            System.err.println("bench: unknown benchmark \"" + what + "\"; " + USAGE);
            System.exit(2);
        }
        // Progress and human-readable lines went to stderr; stdout carries the result (JSON).
        System.out.println(json ? toJson(result) : "result: " + toJson(result));
    }

    /** The result record of one benchmark (or a map of all of them), or null for an unknown name. */
    public static Object run(String what, Options options) {
        return switch (what) {
            case "matmul" -> MatmulBench.run(options);
            case "forward" -> ForwardBench.run(options);
            case "attention" -> AttentionBench.run(options);
            case "decode" -> DecodeBench.run(options);
            case "rss" -> DecodeBench.rss(options);
            case "profile" -> DecodeProfile.run(options);
            case "probe" -> LinearProbe.run(options);
            case "train" -> TrainBench.run(options);
            case "all" -> {
                Map<String, Object> all = new LinkedHashMap<>();
                all.put("matmul", MatmulBench.run(options));
                all.put("forward", ForwardBench.run(options));
                all.put("attention", AttentionBench.run(options));
                all.put("decode", DecodeBench.run(options));
                all.put("rss", DecodeBench.rss(options));
                yield all;
            }
            default -> null;
        };
    }

    /** snake_case JSON of a result record. */
    public static String toJson(Object result) {
        try {
            return new ObjectMapper()
                    .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                    .enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(result);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
