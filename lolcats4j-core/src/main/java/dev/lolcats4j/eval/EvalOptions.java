package dev.lolcats4j.eval;

import dev.lolcats4j.model.ComputeType;
import java.util.function.Consumer;

/**
 * Run-wide options; each overrides the task files' own values when set.
 *
 * @param computeType matmul precision (F32 by default, like score and generate)
 * @param maxBatchTokens batch budget, rows times padded length
 * @param context perplexity tokens per window, and the longest multiple-choice sequence; 0 = the
 *     task's value, else min(max_position_embeddings, 2048)
 * @param stride sliding-window stride; 0 = the task's value, else context / 2 (chunked windows ignore it)
 * @param numFewshot few-shot examples for multiple choice, or null for the task's value
 * @param seed seed for few-shot draws and synthetic probes, or null for the task's value
 * @param log progress messages (one line each); may be null
 * @param sparseCache when above 0, the linearized model's sparse cache size C (overrides the adapter's)
 */
public record EvalOptions(ComputeType computeType, int maxBatchTokens, int context, int stride, Integer numFewshot,
        Long seed, Consumer<String> log, int sparseCache) {

    /** Without a sparse cache override. */
    public EvalOptions(ComputeType computeType, int maxBatchTokens, int context, int stride, Integer numFewshot, Long seed,
            Consumer<String> log) {
        this(computeType, maxBatchTokens, context, stride, numFewshot, seed, log, 0);
    }

    public static final int DEFAULT_CONTEXT_CAP = 2048;

    public static EvalOptions defaults() {
        return new EvalOptions(ComputeType.F32, ModelScorer.DEFAULT_MAX_BATCH_TOKENS, 0, 0, null, null, null);
    }

    public EvalOptions withLog(Consumer<String> sink) {
        return new EvalOptions(computeType, maxBatchTokens, context, stride, numFewshot, seed, sink, sparseCache);
    }

    public EvalOptions withSparseCache(int cacheSize) {
        return new EvalOptions(computeType, maxBatchTokens, context, stride, numFewshot, seed, log, cacheSize);
    }

    void say(String message) {
        if (log != null) {
            log.accept(message);
        }
    }
}
