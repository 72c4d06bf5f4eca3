package dev.lolcats4j.cpu;

import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A quick measurement of libtorch's {@code linear} (x W^T, as every projection runs it: large
 * float32 products split across the cores, see {@link dev.lolcats4j.model.RowSplitLinear}) in
 * float32 and bf16: square sizes from 128 upward, each size only if the rate measured at the
 * previous one says it fits the time left. A slow path (bf16 emulated without native
 * instructions: ~1 GFLOP/s) therefore stops at a small size after a few milliseconds instead
 * of running a large GEMM for a minute. About 0.5 s per dtype at most.
 */
public final class GemmProbe {

    private static final int[] SIZES = {256, 512, 1024, 2048};
    /** Calls timed per size at most (after one untimed call), fewer when a quarter of the budget is spent. */
    private static final int REPETITIONS = 8;

    private GemmProbe() {}

    /** Both rates, with {@code secondsPerDtype} of budget each (0.5 s by default: ~1 s in all). */
    public static GemmRates measure(double secondsPerDtype) {
        Natives.init();
        long start = System.nanoTime();
        Ladder f32 = new Ladder(Tensors.F32, secondsPerDtype);
        Ladder bf16 = new Ladder(Tensors.BF16, secondsPerDtype);
        try (NoGradGuard g = new NoGradGuard()) {
            // Both dtypes climb the sizes in turn, so that a burst of load from other processes
            // hits both alike instead of one of them.
            for (int size : SIZES) {
                f32.step(size);
                bf16.step(size);
            }
        }
        int common = Math.min(f32.largest, bf16.largest);
        GemmRates.SdpaTimes sdpa;
        try (NoGradGuard g = new NoGradGuard()) {
            double f32Ms = sdpaMs(Tensors.F32);
            // Without native bf16 the bf16 kernel is emulated: not worth the seconds it would take.
            boolean nativeBf16 = Capabilities.cpu().nativeBf16();
            double bf16Ms = nativeBf16 ? sdpaMs(Tensors.BF16) : 0;
            double blockedMs = nativeBf16 ? blockedMs() : 0;
            sdpa = new GemmRates.SdpaTimes(round(f32Ms), round(bf16Ms), round(blockedMs));
        }
        return new GemmRates(round(f32.best), round(bf16.best), f32.largest, bf16.largest, common,
                round(f32.bestUpTo(common)), round(bf16.bestUpTo(common)), Natives.threads(),
                round((System.nanoTime() - start) / 1e9), sdpa);
    }

    /** The fastest of a few causal SDPA calls at [1, 8, 512, 64] (after one untimed call), in ms. */
    static double sdpaMs(ScalarType type) {
        return attentionMs(type, (q, k, v) -> torch.scaled_dot_product_attention(q, k, v,
                new org.bytedeco.pytorch.TensorOptional(), 0.0, true, new org.bytedeco.pytorch.DoubleOptional(0.125), false));
    }

    /** As {@link #sdpaMs}, for the bf16 form in query chunks (inputs float32, as a layer hands them over). */
    static double blockedMs() {
        return attentionMs(Tensors.F32, (q, k, v) -> dev.lolcats4j.model.BlockedCausalAttention.forward(q, k, v, 1, Tensors.BF16,
                dev.lolcats4j.model.BlockedCausalAttention.CHUNK));
    }

    private interface AttentionCall {
        Tensor apply(Tensor q, Tensor k, Tensor v);
    }

    private static double attentionMs(ScalarType type, AttentionCall attention) {
        try (PointerScope scope = new PointerScope()) {
            long[] shape = {1, 8, 512, 64};
            Tensor q = torch.randn(shape, Tensors.options(Tensors.F32)).to(type);
            Tensor k = torch.randn(shape, Tensors.options(Tensors.F32)).to(type);
            Tensor v = torch.randn(shape, Tensors.options(Tensors.F32)).to(type);
            Runnable call = () -> {
                try (PointerScope inner = new PointerScope()) {
                    attention.apply(q, k, v);
                }
            };
            call.run();
            long fastest = Long.MAX_VALUE;
            long begin = System.nanoTime();
            for (int i = 0; i < 4 && System.nanoTime() - begin < 300_000_000L; i++) {
                long t0 = System.nanoTime();
                call.run();
                fastest = Math.min(fastest, System.nanoTime() - t0);
            }
            return fastest / 1e6;
        }
    }

    public static GemmRates measure() {
        return measure(0.5);
    }

    /** One dtype's climb: its best rate so far (GFLOP/s), largest size run and time spent. */
    private static final class Ladder {
        final ScalarType type;
        final long budgetNanos;
        long spentNanos;
        double best;
        int largest;
        boolean stopped;
        final java.util.Map<Integer, Double> rates = new java.util.HashMap<>();

        Ladder(ScalarType type, double budgetSeconds) {
            this.type = type;
            this.budgetNanos = (long) (budgetSeconds * 1e9);
        }

        /**
         * The best rate at sizes up to {@code size}: a quiet moment at a smaller size says more
         * than a size whose every call was preempted (seen here: f32 60 GFLOP/s at 256^3, then
         * 5 at 512^3 while 20+ processes shared the 2 cores).
         */
        double bestUpTo(int size) {
            return rates.entrySet().stream().filter(e -> e.getKey() <= size).mapToDouble(java.util.Map.Entry::getValue).max()
                    .orElse(0);
        }

        void step(int size) {
            double flops = 2.0 * size * size * size;
            // At least two calls (one untimed) at this size, timed at the best rate seen so far.
            double estimateNanos = best == 0 ? 0 : 2 * flops / best;
            if (stopped || (best > 0 && spentNanos + estimateNanos > budgetNanos)) {
                stopped = true;
                return;
            }
            long begin = System.nanoTime();
            try (PointerScope scope = new PointerScope()) {
                Tensor x = torch.randn(new long[] {size, size}, Tensors.options(Tensors.F32)).to(type);
                Tensor w = torch.randn(new long[] {size, size}, Tensors.options(Tensors.F32)).to(type);
                dev.lolcats4j.model.RowSplitLinear.linear(x, w, null);
                double fastest = Double.MAX_VALUE;
                for (int i = 0; i < REPETITIONS; i++) {
                    long t0 = System.nanoTime();
                    dev.lolcats4j.model.RowSplitLinear.linear(x, w, null);
                    fastest = Math.min(fastest, Math.max(1, System.nanoTime() - t0));
                    long spentHere = System.nanoTime() - begin;
                    if (spentHere > budgetNanos / 4 || spentNanos + spentHere + fastest > budgetNanos) {
                        break;
                    }
                }
                // The fastest call: load from other processes only ever slows calls down (on a
                // shared 2-core machine single calls varied 10x; the fastest of 8 was stable).
                rates.put(size, flops / fastest); // FLOP per nanosecond = GFLOP/s
                best = Math.max(best, flops / fastest);
                largest = size;
            }
            spentNanos += System.nanoTime() - begin;
        }
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
