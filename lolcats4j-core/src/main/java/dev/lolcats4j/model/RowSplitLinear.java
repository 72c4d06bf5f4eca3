package dev.lolcats4j.model;

import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A float32 {@code x W^T (+ b)} over many rows on every intra-op thread. libtorch hands a float32
 * GEMM to OpenBLAS, which the launcher keeps single-threaded: with OPENBLAS_NUM_THREADS=2 its
 * threads and libtorch's OpenMP threads share the cores, and a float32 prefill of the 125M bench
 * model took 3.6 s instead of 2.7 s on a 2-core EPYC. So float32 projections ran on one core,
 * where bf16 ones (oneDNN, OpenMP) use all: that is every projection on CPUs without fast bf16.
 * Here the rows of x are split across the threads, each an {@code mm_out} into its own rows of
 * one output (1.9x for 1024 x 2048 -> 8192 on 2 cores). Only without autograd (inference and
 * stage 1's teacher pass): under autograd the backward's GEMMs would stay serial anyway.
 */
public final class RowSplitLinear {

    /**
     * Below this many FLOPs a split costs more than it saves (1024 x 768 -> 768, 1.2 GFLOP:
     * 0.92x; 1024 x 768 -> 2048, 3.2 GFLOP: 1.27x; 34 GFLOP: 1.9x, measured on 2 cores).
     */
    static final double MIN_FLOPS = 2e9;

    /** Read once: projections ask on every call. OpenBLAS reads its thread count at load, too. */
    private static final boolean BLAS_SINGLE_THREADED = "1".equals(System.getenv("OPENBLAS_NUM_THREADS"));
    private static final int THREADS = Natives.threads();

    private static final Object LOCK = new Object();
    private static ExecutorService workers;
    private static int workerCount;

    private RowSplitLinear() {}

    /**
     * x W^T (+ b) as the projections run it: split across the cores where {@link #applies},
     * else libtorch's {@code linear}. The GEMM probe times this too, so that its float32 rate is
     * the one the model gets.
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        if (applies(x, weight)) {
            return apply(x, weight, bias);
        }
        return bias == null ? torch.linear(x, weight) : torch.linear(x, weight, new org.bytedeco.pytorch.TensorOptional(bias));
    }

    /**
     * Whether {@link #apply} is the faster way for this product here: float32 operands, no
     * autograd, more than one intra-op thread, OpenBLAS single-threaded (as the launcher and the
     * tests run it), and a product large enough.
     */
    static boolean applies(Tensor x, Tensor weight) {
        if (!Tensors.same(x.scalar_type(), Tensors.F32) || !Tensors.same(weight.scalar_type(), Tensors.F32)
                || org.bytedeco.pytorch.GradMode.is_enabled() || THREADS < 2 || !BLAS_SINGLE_THREADED) {
            return false;
        }
        long rows = x.numel() / weight.size(1);
        return rows >= 2L * THREADS && 2.0 * rows * weight.size(1) * weight.size(0) >= MIN_FLOPS;
    }

    /** x [..., in] float32, weight [out, in], bias [out] or null: x W^T + b, [..., out]. */
    static Tensor apply(Tensor x, Tensor weight, Tensor bias) {
        return apply(x, weight, bias, THREADS);
    }

    /** As {@link #apply(Tensor, Tensor, Tensor)} in {@code parts} row ranges (at least 1). */
    static Tensor apply(Tensor x, Tensor weight, Tensor bias, int parts) {
        long in = weight.size(1);
        long out = weight.size(0);
        long rows = x.numel() / in;
        Tensor flat = x.reshape(rows, in);
        Tensor result = Tensors.empty(x.scalar_type(), rows, out);
        Tensor transposed = weight.t();
        int n = (int) Math.max(1, Math.min(parts, rows));
        List<Future<?>> pending = new ArrayList<>();
        ExecutorService pool = n > 1 ? pool(n - 1) : null;
        for (int i = 1; i < n; i++) {
            Tensor rowsOut = result.narrow(0, rows * i / n, rows * (i + 1) / n - rows * i / n);
            Tensor rowsIn = flat.narrow(0, rows * i / n, rows * (i + 1) / n - rows * i / n);
            pending.add(pool.submit(() -> multiply(rowsOut, rowsIn, transposed, bias)));
        }
        multiply(result.narrow(0, 0, rows / n), flat.narrow(0, 0, rows / n), transposed, bias);
        try {
            for (Future<?> f : pending) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted during a split matmul", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
        long[] shape = Tensors.shape(x);
        shape[shape.length - 1] = out;
        return result.view(shape);
    }

    private static void multiply(Tensor out, Tensor in, Tensor transposedWeight, Tensor bias) {
        Natives.init(); // this thread flushes denormals too
        // Grad mode is per thread: the caller's no-grad must hold here too (an out= product
        // refuses operands that record gradients, e.g. trainable weights evaluated under no-grad).
        try (PointerScope scope = new PointerScope(); org.bytedeco.pytorch.NoGradGuard noGrad = new org.bytedeco.pytorch.NoGradGuard()) {
            torch.mm_out(out, in, transposedWeight);
            if (bias != null) {
                out.add_(bias);
            }
        }
    }

    /** Daemon threads for the extra row ranges, made once (grown if more are asked for). */
    private static ExecutorService pool(int count) {
        synchronized (LOCK) {
            if (workers == null || workerCount < count) {
                if (workers != null) {
                    workers.shutdown();
                }
                workers = Executors.newFixedThreadPool(count, r -> {
                    Thread t = new Thread(r, "lolcats-split-matmul");
                    t.setDaemon(true);
                    return t;
                });
                workerCount = count;
            }
            return workers;
        }
    }
}
