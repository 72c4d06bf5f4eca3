package dev.lolcats4j.bench;

import dev.lolcats4j.cpu.DtypeRequest;

/**
 * Settings shared by the runners.
 *
 * @param warmup untimed iterations before measuring
 * @param iterations timed iterations; the runners report the median
 * @param quick smaller sizes, for a smoke test (seconds instead of minutes)
 * @param memoryBudgetBytes tensors estimated above this are skipped (reported as null)
 * @param dtype the matmul dtype asked for (auto: the rule of {@link dev.lolcats4j.cpu.DtypeRule}
 *     on this run's own GEMM probe)
 * @param shape the model shape of {@code bench train} (null: the synthetic ~125M model)
 */
public record Options(int warmup, int iterations, boolean quick, long memoryBudgetBytes, DtypeRequest dtype, ModelShape shape) {

    public Options(int warmup, int iterations, boolean quick, long memoryBudgetBytes) {
        this(warmup, iterations, quick, memoryBudgetBytes, DtypeRequest.AUTO, null);
    }

    public static Options defaults() {
        return new Options(2, 5, false, 8L << 30);
    }

    public Options withIterations(int warmup, int iterations) {
        return new Options(warmup, iterations, quick, memoryBudgetBytes, dtype, shape);
    }
}
