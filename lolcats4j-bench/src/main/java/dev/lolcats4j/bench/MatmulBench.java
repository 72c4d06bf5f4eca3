package dev.lolcats4j.bench;

import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import dev.lolcats4j.kernels.MatVecPass;
import dev.lolcats4j.kernels.MatrixView;
import dev.lolcats4j.kernels.VectorKernels;
import dev.lolcats4j.kernels.WeightPacker;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * GEMM rate through libtorch (bf16 and fp32), memory bandwidth (1 GiB sum and copy), and
 * single-row matrix-vector rate in GB/s of weights read: libtorch's linear in bf16 and fp32,
 * and the Java Vector API bf16 kernel ({@link MatVecPass}, as decode uses it) on the same bf16 weights.
 */
public final class MatmulBench {

    /** One GEMM shape: C[m, n] = A[m, k] B[k, n]; ms and gflops are null where it was skipped (note says why). */
    public record Gemm(String dtype, long m, long n, long k, Double ms, Double gflops, String note) {}

    /** No GEMM shape may take longer than this in all (warm-up + timed calls), estimated from the probe. */
    static final double CAP_SECONDS = 15;

    /**
     * @param readGbps 1 GiB fp32 sum: bytes read / time
     * @param copyGbps 1 GiB fp32 copy: (bytes read + bytes written) / time
     */
    public record Bandwidth(long bytes, double readGbps, double copyGbps) {}

    /** y = W x for one row x; gbps = weight bytes / time. vector_api is null when the module is absent. */
    public record Matvec(long rows, long cols, double libtorchBf16Gbps, double libtorchF32Gbps, Double vectorApiBf16Gbps,
            Double vectorApiMaxAbsError) {}

    public record Result(int threads, List<Gemm> gemm, double bf16Gflops, double f32Gflops, Bandwidth bandwidth, Matvec matvec) {}

    private MatmulBench() {}

    public static Result run(Options options) {
        Natives.init();
        long[][] shapes = options.quick()
                ? new long[][] {{1024, 1024, 1024}}
                : new long[][] {{2048, 2048, 2048}, {4096, 4096, 1024}};
        BenchContext context = BenchContext.of(options.dtype());
        List<Gemm> gemms = new ArrayList<>();
        double bestBf16 = 0;
        double bestF32 = 0;
        try (NoGradGuard g = new NoGradGuard()) {
            for (ScalarType type : new ScalarType[] {Tensors.BF16, Tensors.F32}) {
                double probed = type == Tensors.BF16 ? context.gemm().bf16Gflops() : context.gemm().f32Gflops();
                for (long[] s : shapes) {
                    Gemm gemm = cappedGemm(type, s[0], s[1], s[2], probed, options);
                    gemms.add(gemm);
                    if (gemm.gflops() == null) {
                        continue;
                    }
                    if (type == Tensors.BF16) {
                        bestBf16 = Math.max(bestBf16, gemm.gflops());
                    } else {
                        bestF32 = Math.max(bestF32, gemm.gflops());
                    }
                }
            }
            Bandwidth bandwidth = bandwidth(options.quick() ? 256L << 20 : 1L << 30, options);
            Matvec matvec = options.quick() ? matvec(4096, 2048, options) : matvec(16384, 4096, options);
            return new Result(Natives.threads(), gemms, bestBf16, bestF32, bandwidth, matvec);
        }
    }

    /**
     * The GEMM, unless the probe's rate says all its calls would take over {@link #CAP_SECONDS}
     * (bf16 without native instructions: a 2048^3 GEMM at 1.3 GFLOP/s is 13 s per call); then a
     * row with a note instead.
     */
    static Gemm cappedGemm(ScalarType type, long m, long n, long k, double probedGflops, Options options) {
        double secondsPerCall = 2.0 * m * n * k / (Math.max(probedGflops, 1e-3) * 1e9);
        int calls = options.warmup() + options.iterations();
        String name = type == Tensors.BF16 ? "bf16" : "f32";
        if (secondsPerCall * calls > CAP_SECONDS) {
            String note = String.format(java.util.Locale.ROOT, "skipped: ~%.1f s per call at the probed %.1f GFLOP/s (%d calls > %.0f s cap)",
                    secondsPerCall, probedGflops, calls, CAP_SECONDS);
            Timing.progress("matmul %s %dx%dx%d: %s", name, m, n, k, note);
            return new Gemm(name, m, n, k, null, null, note);
        }
        return gemm(type, m, n, k, options);
    }

    static Gemm gemm(ScalarType type, long m, long n, long k, Options options) {
        // Large inputs are freed when the scope closes, not whenever the garbage collector runs.
        try (PointerScope scope = new PointerScope()) {
            return gemmScoped(type, m, n, k, options);
        }
    }

    private static Gemm gemmScoped(ScalarType type, long m, long n, long k, Options options) {
        Tensor a = torch.randn(new long[] {m, k}, Tensors.options(Tensors.F32)).to(type);
        Tensor b = torch.randn(new long[] {k, n}, Tensors.options(Tensors.F32)).to(type);
        double ms = Timing.medianMs(options.warmup(), options.iterations(), () -> torch.mm(a, b));
        double gflops = 2.0 * m * n * k / (ms * 1e6);
        String name = type == Tensors.BF16 ? "bf16" : "f32";
        Timing.progress("matmul %s %dx%dx%d: %.1f ms, %.0f GFLOP/s", name, m, n, k, ms, gflops);
        return new Gemm(name, m, n, k, Timing.round(ms, 3), Timing.round(gflops, 1), null);
    }

    /** Read bandwidth (sum) and copy bandwidth over {@code bytes} of fp32, at the libtorch thread count. */
    static Bandwidth bandwidth(long bytes, Options options) {
        // Large inputs are freed when the scope closes, not whenever the garbage collector runs.
        try (PointerScope scope = new PointerScope()) {
            return bandwidthScoped(bytes, options);
        }
    }

    private static Bandwidth bandwidthScoped(long bytes, Options options) {
        long count = bytes / 4;
        Tensor src = torch.ones(new long[] {count}, Tensors.options(Tensors.F32));
        Tensor dst = torch.zeros(new long[] {count}, Tensors.options(Tensors.F32));
        double sumMs = Timing.medianMs(options.warmup(), options.iterations(), () -> src.sum().item_double());
        double copyMs = Timing.medianMs(options.warmup(), options.iterations(), () -> dst.copy_(src));
        double read = bytes / (sumMs * 1e6);
        double copy = 2.0 * bytes / (copyMs * 1e6);
        Timing.progress("bandwidth over %.0f MiB: read (sum) %.1f GB/s, copy (read+write) %.1f GB/s", Memory.mib(bytes), read, copy);
        return new Bandwidth(bytes, Timing.round(read, 2), Timing.round(copy, 2));
    }

    /** Matrix-vector rates on one [rows, cols] weight, larger than the last-level cache. */
    static Matvec matvec(long rows, long cols, Options options) {
        // Large inputs are freed when the scope closes, not whenever the garbage collector runs.
        try (PointerScope scope = new PointerScope()) {
            return matvecScoped(rows, cols, options);
        }
    }

    private static Matvec matvecScoped(long rows, long cols, Options options) {
        Tensor w32 = torch.randn(new long[] {rows, cols}, Tensors.options(Tensors.F32)).mul(Tensors.scalar(0.02));
        Tensor w16 = w32.to(Tensors.BF16).contiguous();
        // As model weights are held: page-aligned in huge pages (both paths read these bytes).
        WeightPacker.pack(java.util.List.of(w16));
        Tensor x32 = torch.randn(new long[] {1, cols}, Tensors.options(Tensors.F32));
        Tensor x16 = x32.to(Tensors.BF16);
        int iterations = Math.max(options.iterations(), 20);
        double bf16Ms = Timing.medianMs(options.warmup() + 3, iterations, () -> torch.linear(x16, w16));
        double f32Ms = Timing.medianMs(options.warmup() + 3, iterations, () -> torch.linear(x32, w32));
        double bf16 = rows * cols * 2 / (bf16Ms * 1e6);
        double f32 = rows * cols * 4 / (f32Ms * 1e6);
        Timing.progress("matvec %dx%d: libtorch bf16 %.3f ms (%.1f GB/s), f32 %.3f ms (%.1f GB/s)", rows, cols, bf16Ms, bf16, f32Ms, f32);
        Double vector = null;
        Double error = null;
        if (VectorKernels.enabled()) {
            float[] x = Tensors.toFloats(x32);
            float[] y = new float[(int) rows];
            MatrixView view = MatrixView.of(w16);
            double vMs = Timing.medianMs(options.warmup() + 3, iterations, () -> MatVecPass.multiply(view, x, 1, y));
            vector = Timing.round(rows * cols * 2 / (vMs * 1e6), 2);
            try (PointerScope scope = new PointerScope()) {
                float[] expected = Tensors.toFloats(torch.linear(x32, w16.to(Tensors.F32)));
                double max = 0;
                for (int i = 0; i < y.length; i++) {
                    max = Math.max(max, Math.abs(expected[i] - y[i]));
                }
                error = max;
            }
            Timing.progress("matvec %dx%d: Vector API bf16 %.3f ms (%.1f GB/s), max |error| %.2e", rows, cols, vMs, vector, error);
        } else {
            Timing.progress("matvec: Vector API kernel skipped: %s", VectorKernels.unavailableReason());
        }
        return new Matvec(rows, cols, Timing.round(bf16, 2), Timing.round(f32, 2), vector, error);
    }
}
