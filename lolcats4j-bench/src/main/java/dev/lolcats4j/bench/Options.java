package dev.lolcats4j.bench;

/**
 * Settings shared by the runners.
 *
 * @param warmup untimed iterations before measuring
 * @param iterations timed iterations; the runners report the median
 * @param quick smaller sizes, for a smoke test (seconds instead of minutes)
 * @param memoryBudgetBytes tensors estimated above this are skipped (reported as null)
 */
public record Options(int warmup, int iterations, boolean quick, long memoryBudgetBytes) {

    public static Options defaults() {
        return new Options(2, 5, false, 8L << 30);
    }

    public Options withIterations(int warmup, int iterations) {
        return new Options(warmup, iterations, quick, memoryBudgetBytes);
    }
}
