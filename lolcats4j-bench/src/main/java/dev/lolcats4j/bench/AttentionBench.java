package dev.lolcats4j.bench;

import dev.lolcats4j.lolcats.AttentionKind;
import dev.lolcats4j.lolcats.BlockProducts;
import dev.lolcats4j.lolcats.FeatureMap;
import dev.lolcats4j.lolcats.FeatureMapKind;
import dev.lolcats4j.lolcats.HybridKernels;
import dev.lolcats4j.lolcats.HybridParams;
import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.SoftmaxAttention;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Forward + backward of one layer's attention (H = 8, d = 64, F = 64, W = 64, B = 1, fp32,
 * gradients for q, k, v and both feature maps) against sequence length: the chunked hybrid
 * (linear in n), chunked softmax and the quadratic hybrid reference (null above the memory budget).
 * Where the dtype rule picks bf16 matmuls, also the chunked hybrid with bf16 block products (what
 * training runs there, {@link BlockProducts#BF16}); elsewhere that column is null, since bf16
 * products on a CPU without native bf16 would take minutes.
 */
public final class AttentionBench {

    static final int HEADS = 8;
    static final int HEAD_DIM = 64;
    static final int FEATURES = 64;
    static final int WINDOW = 64;
    /** Live n x n fp32 tensors the quadratic form keeps for backward (scores, masks, weights...). */
    static final int QUADRATIC_LIVE = 6;

    public record Row(long n, Double hybridMs, Double softmaxMs, Double quadraticMs, Double hybridBf16ProductsMs) {}

    /**
     * @param quadraticOverHybridAt2048 quadratic_ms / hybrid_ms at n = 2048 (target >= 10, goal 30), null if not measured
     * @param hybridScaling hybrid_ms at the largest n / at 1024 (target <= 20 for 16384), null if not measured
     * @param quadraticOverHybridBf16ProductsAt2048 quadratic_ms / hybrid_bf16_products_ms at n = 2048, null if not measured
     */
    public record Result(List<Row> rows, Double quadraticOverHybridAt2048, Double hybridScaling,
            Double quadraticOverHybridBf16ProductsAt2048) {

        Result(List<Row> rows) {
            this(rows, ratioAt(rows, 2048), scaling(rows), bf16RatioAt(rows, 2048));
        }

        private static Double bf16RatioAt(List<Row> rows, long n) {
            for (Row r : rows) {
                if (r.n() == n && r.hybridBf16ProductsMs() != null && r.quadraticMs() != null) {
                    return Timing.round(r.quadraticMs() / r.hybridBf16ProductsMs(), 2);
                }
            }
            return null;
        }

        private static Double ratioAt(List<Row> rows, long n) {
            for (Row r : rows) {
                if (r.n() == n && r.hybridMs() != null && r.quadraticMs() != null) {
                    return Timing.round(r.quadraticMs() / r.hybridMs(), 2);
                }
            }
            return null;
        }

        private static Double scaling(List<Row> rows) {
            Double s = new Result(rows, null, null, null).hybridScaling(1024, rows.get(rows.size() - 1).n());
            return s == null ? null : Timing.round(s, 2);
        }

        /** hybrid_ms(16384) / hybrid_ms(1024), or null if either is missing. */
        public Double hybridScaling(long from, long to) {
            Double a = null;
            Double b = null;
            for (Row r : rows) {
                if (r.n() == from) a = r.hybridMs();
                if (r.n() == to) b = r.hybridMs();
            }
            return a == null || b == null ? null : b / a;
        }
    }

    private AttentionBench() {}

    public static Result run(Options options) {
        Natives.init();
        long[] lengths = options.quick() ? new long[] {512, 1024, 2048} : new long[] {512, 1024, 2048, 4096, 8192, 16384};
        List<Row> rows = new ArrayList<>();
        boolean bf16 = BenchContext.of(options.dtype()).computeType() == dev.lolcats4j.model.ComputeType.BF16;
        for (long n : lengths) {
            // Fewer repetitions where one iteration takes seconds.
            int iterations = n >= 8192 ? Math.min(options.iterations(), 3) : options.iterations();
            int warmup = n >= 8192 ? 1 : Math.max(1, options.warmup());
            Double hybrid = time(n, warmup, iterations, "hybrid", () -> hybridCase(n, BlockProducts.INPUT));
            Double hybridBf16 = bf16 ? time(n, warmup, iterations, "hybrid, bf16 products", () -> hybridCase(n, BlockProducts.BF16)) : null;
            Double softmax = softmaxFits(n, options) ? time(n, warmup, iterations, "softmax", () -> softmaxCase(n)) : null;
            Double quadratic = fits(n, QUADRATIC_LIVE, options) ? time(n, warmup, iterations, "quadratic", () -> quadraticCase(n)) : null;
            rows.add(new Row(n, hybrid, softmax, quadratic, hybridBf16));
        }
        Result result = new Result(rows);
        Double scaling = result.hybridScaling(1024, lengths[lengths.length - 1]);
        Timing.progress("attention: hybrid_ms(%d)/hybrid_ms(1024) = %s (linear would be %.0f; target <= 20)",
                lengths[lengths.length - 1], scaling == null ? "n/a" : String.format("%.2f", scaling), lengths[lengths.length - 1] / 1024.0);
        return result;
    }

    /** n x n x H fp32 bytes times the number of such tensors alive at once, against the budget. */
    static boolean fits(long n, int live, Options options) {
        return n * n * HEADS * 4L * live <= options.memoryBudgetBytes();
    }

    /**
     * Chunked softmax keeps one n x n x H fp32 probability tensor for backward (one 512-query
     * chunk at a time, all chunks saved) plus a chunk's transients: allowed up to twice the budget.
     */
    static boolean softmaxFits(long n, Options options) {
        return n * n * HEADS * 4L * 5 / 4 <= 2 * options.memoryBudgetBytes();
    }

    private static Double time(long n, int warmup, int iterations, String name, Supplier<Runnable> setup) {
        Runnable body = setup.get();
        double ms = Timing.medianMs(warmup, iterations, body);
        Timing.progress("attention n=%d %s: %.1f ms (fwd+bwd); RSS %.0f MiB", n, name, ms, Memory.mib(Memory.residentBytes()));
        return Timing.round(ms, 2);
    }

    /** Inputs with requires_grad, created per iteration so each backward starts clean. */
    private record Inputs(Tensor q, Tensor k, Tensor v, HybridParams params) {

        static Inputs create(long n) {
            Tensor q = leaf(torch.randn(new long[] {1, HEADS, n, HEAD_DIM}, Tensors.options(Tensors.F32)));
            Tensor k = leaf(torch.randn(new long[] {1, HEADS, n, HEAD_DIM}, Tensors.options(Tensors.F32)));
            Tensor v = leaf(torch.randn(new long[] {1, HEADS, n, HEAD_DIM}, Tensors.options(Tensors.F32)));
            FeatureMap fq = FeatureMap.identity(FeatureMapKind.SOFTMAX_DIM, HEADS, HEAD_DIM, FEATURES, false);
            FeatureMap fk = FeatureMap.identity(FeatureMapKind.SOFTMAX_DIM, HEADS, HEAD_DIM, FEATURES, false);
            fq.weight().requires_grad_(true);
            fk.weight().requires_grad_(true);
            Tensor factors = Tensors.full(Tensors.F32, HybridParams.INITIAL_WINDOW_LOGIT, 1, HEADS, 1, 1).requires_grad_(true);
            return new Inputs(q, k, v, new HybridParams(AttentionKind.HYBRID_SW, WINDOW, fq, fk, factors, false));
        }

        private static Tensor leaf(Tensor t) {
            return t.requires_grad_(true);
        }
    }

    private static Runnable hybridCase(long n, BlockProducts products) {
        return () -> {
            Inputs in = Inputs.create(n);
            HybridKernels.chunked(in.params(), in.q(), in.k(), in.v(), null, products).sum().backward();
        };
    }

    private static Runnable softmaxCase(long n) {
        SoftmaxAttention attention = new SoftmaxAttention(1);
        return () -> {
            Inputs in = Inputs.create(n);
            attention.forward(in.q(), in.k(), in.v(), AttentionContext.unpadded(), null).sum().backward();
        };
    }

    private static Runnable quadraticCase(long n) {
        return () -> {
            Inputs in = Inputs.create(n);
            HybridKernels.quadratic(in.params(), in.q(), in.k(), in.v(), null).sum().backward();
        };
    }
}
