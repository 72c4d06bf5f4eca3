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
 * @param sdpa causal attention timed per dtype (see {@link SdpaTimes}); null in entries cached
 *     before it was measured
 */
public record GemmRates(double f32Gflops, double bf16Gflops, int f32Size, int bf16Size, int commonSize,
        double f32AtCommonGflops, double bf16AtCommonGflops, int threads, double seconds, SdpaTimes sdpa) {

    /**
     * libtorch's fused causal attention ({@code scaled_dot_product_attention}, [1, 8, 512, 64])
     * per dtype, fastest call in milliseconds. Its bf16 kernel is fast only on some CPUs with
     * native bf16 (AMX), so the GEMM rates alone cannot choose its dtype: measured here on an
     * AVX512-BF16 EPYC without AMX, one layer at 1024 tokens took 384 ms in bf16 against 41 ms
     * in float32 while the bf16 GEMM ran 11x faster than the float32 one.
     *
     * @param f32Ms float32 time
     * @param bf16Ms bf16 time, or 0 when not measured (no native bf16: it would only be slow)
     * @param blockedBf16Ms the same attention in bf16 through {@link dev.lolcats4j.model.BlockedCausalAttention}
     *     (query chunks on the bf16 GEMM), or 0 when not measured (no native bf16, or an entry
     *     cached before it was)
     */
    public record SdpaTimes(double f32Ms, double bf16Ms, double blockedBf16Ms) {

        /** Times without the blocked form (recorded figures). */
        public SdpaTimes(double f32Ms, double bf16Ms) {
            this(f32Ms, bf16Ms, 0);
        }
    }

    public GemmRates(double f32Gflops, double bf16Gflops, int f32Size, int bf16Size, int commonSize, double f32AtCommonGflops,
            double bf16AtCommonGflops, int threads, double seconds) {
        this(f32Gflops, bf16Gflops, f32Size, bf16Size, commonSize, f32AtCommonGflops, bf16AtCommonGflops, threads, seconds, null);
    }

    /** Rates measured at one size only (recorded figures, tests). */
    public static GemmRates of(double f32Gflops, double bf16Gflops, int size) {
        return new GemmRates(f32Gflops, bf16Gflops, size, size, size, f32Gflops, bf16Gflops, 0, 0);
    }

    /** The same rates with these attention times. */
    public GemmRates withSdpa(SdpaTimes times) {
        return new GemmRates(f32Gflops, bf16Gflops, f32Size, bf16Size, commonSize, f32AtCommonGflops, bf16AtCommonGflops, threads,
                seconds, times);
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

    /** The attention times in one line, or "not measured". */
    public String sdpaSummary() {
        if (sdpa == null) {
            return "not measured";
        }
        return sdpa.bf16Ms() > 0
                ? String.format(Locale.ROOT, "f32 %.1f ms, bf16 %.1f ms, bf16 in query chunks %.1f ms ([1, 8, 512, 64] causal)",
                        sdpa.f32Ms(), sdpa.bf16Ms(), sdpa.blockedBf16Ms())
                : String.format(Locale.ROOT, "f32 %.1f ms ([1, 8, 512, 64] causal; bf16 not measured: no native bf16)", sdpa.f32Ms());
    }
}
