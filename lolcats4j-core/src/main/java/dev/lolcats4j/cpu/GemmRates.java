package dev.lolcats4j.cpu;

import java.util.Locale;

/**
 * libtorch matmul rates measured on this machine by {@link GemmProbe}.
 *
 * @param f32Gflops float32 rate, GFLOP/s (best over the sizes probed)
 * @param bf16Gflops bf16 rate, GFLOP/s (best over the sizes probed)
 * @param f32Size largest square size probed in float32 (smaller where the path is slow)
 * @param bf16Size largest square size probed in bf16
 * @param commonSize the largest size probed in both dtypes, where they are compared
 * @param f32AtCommonGflops best float32 rate at sizes up to {@code commonSize}
 * @param bf16AtCommonGflops best bf16 rate at sizes up to {@code commonSize}
 * @param threads libtorch intra-op threads during the probe
 * @param seconds wall time of the whole probe
 */
public record GemmRates(double f32Gflops, double bf16Gflops, int f32Size, int bf16Size, int commonSize,
        double f32AtCommonGflops, double bf16AtCommonGflops, int threads, double seconds) {

    /** Rates measured at one size only (recorded figures, tests). */
    public static GemmRates of(double f32Gflops, double bf16Gflops, int size) {
        return new GemmRates(f32Gflops, bf16Gflops, size, size, size, f32Gflops, bf16Gflops, 0, 0);
    }

    /**
     * bf16 rate over float32 rate at the same size: small sizes are dominated by per-call
     * latency (and by other processes' load), which a same-size comparison cancels.
     */
    public double bf16Speedup() {
        return bf16AtCommonGflops / f32AtCommonGflops;
    }

    public String summary() {
        return String.format(Locale.ROOT, "f32 %.1f GFLOP/s (%d^3), bf16 %.1f GFLOP/s (%d^3); at %d^3: bf16/f32 = %.2f; %d threads",
                f32Gflops, f32Size, bf16Gflops, bf16Size, commonSize, bf16Speedup(), threads);
    }
}
