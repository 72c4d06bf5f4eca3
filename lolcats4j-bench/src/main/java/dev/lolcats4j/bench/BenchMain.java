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
            + "[--warmup N] [--iterations N] [--memory-budget-gib G] [--dtype auto|f32|bf16]";

    private BenchMain() {}

    public static void main(String[] args) {
        String what = "all";
        boolean json = false;
        Options o = Options.defaults();
        int warmup = o.warmup();
        int iterations = o.iterations();
        boolean quick = false;
        long budget = o.memoryBudgetBytes();
        dev.lolcats4j.cpu.DtypeRequest dtype = dev.lolcats4j.cpu.DtypeRequest.AUTO;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--json" -> json = true;
                case "--quick" -> quick = true;
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--iterations" -> iterations = Integer.parseInt(args[++i]);
                case "--memory-budget-gib" -> budget = (long) (Double.parseDouble(args[++i]) * (1L << 30));
                case "--dtype" -> dtype = dev.lolcats4j.cpu.DtypeRequest.parse(args[++i]);
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
        Object result = run(what, new Options(warmup, iterations, quick, budget, dtype, null));
        if (result == null) {
            System.err.println("bench: unknown benchmark \"" + what + "\"; " + USAGE);
            System.exit(2);
        }
        // Progress and human-readable lines went to stderr; stdout carries the result (JSON).
        System.out.println(json ? toJson(result) : "result: " + toJson(result));
    }

    /**
     * The result of one benchmark (or of all of them) as one JSON object: first what it is
     * judged against, measured in the same run ({@link BenchContext}: CPU model and flags,
     * dtype, GEMM rates, bandwidth), then the benchmark's own fields. Null for an unknown name.
     */
    public static Object run(String what, Options options) {
        if (!NAMES.contains(what)) {
            return null;
        }
        BenchContext context = BenchContext.of(options.dtype());
        Object result = runOne(what, options);
        com.fasterxml.jackson.databind.node.ObjectNode report = mapper().valueToTree(context);
        com.fasterxml.jackson.databind.JsonNode fields = mapper().valueToTree(result);
        fields.properties().forEach(e -> report.set(e.getKey(), e.getValue()));
        return report;
    }

    static final java.util.Set<String> NAMES = java.util.Set.of("matmul", "forward", "attention", "decode", "rss", "profile",
            "probe", "train", "all");

    private static Object runOne(String what, Options options) {
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
            return mapper().writeValueAsString(result);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectMapper mapper() {
        return new ObjectMapper()
                .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(SerializationFeature.INDENT_OUTPUT);
    }
}
