package dev.lolcats4j.eval;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The numbers of one task on one model.
 *
 * @param metrics comparable quality numbers in report order (acc, acc_norm, token_perplexity,
 *     bits_per_byte, acc@1024, ...)
 * @param counts sizes that say what was measured (items, tokens, bytes, trials)
 */
public record TaskResult(String task, String kind, Path source, Map<String, Double> metrics, Map<String, Long> counts) {

    public TaskResult {
        metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
        counts = Collections.unmodifiableMap(new LinkedHashMap<>(counts));
    }

    /** True for metrics where lower is better (perplexities, bits per byte, NLL). */
    public static boolean lowerIsBetter(String metric) {
        return metric.contains("perplexity") || metric.contains("bits_per_byte") || metric.contains("nll");
    }
}
