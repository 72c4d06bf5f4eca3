package dev.lolcats4j.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Compiles the kernels before decoding uses them. Vector API code is only fast once C2 has
 * compiled it. Interpreted, the first decode steps of a 125M model took 820, 150 and 190 ms
 * instead of ~11, and a 20-token generation ran 1 s longer than through libtorch. The warm-up
 * runs the kernels on small buffers for 0.5-0.9 s on 2 cores. Until it has run,
 * {@link #ready()} is false and decoding goes through libtorch. Run in the background next to
 * libtorch's decode or load, it slowed both 2-3x.
 *
 * <p>So the generator warms up (waiting) only for generations long enough to repay it; see
 * {@link #worthIt}.
 */
public final class WarmUp {

    private static final AtomicBoolean STARTED = new AtomicBoolean();
    private static final java.util.concurrent.CountDownLatch DONE = new java.util.concurrent.CountDownLatch(1);
    private static final int ROUNDS = 4000;

    private WarmUp() {}

    /** Starts the warm-up once per JVM (later calls return at once); no-op when the kernels are off. */
    public static void startInBackground() {
        if (!VectorKernels.enabled() || !STARTED.compareAndSet(false, true)) {
            return;
        }
        Thread thread = new Thread(() -> {
            try {
                run();
            } finally {
                DONE.countDown();
            }
        }, "lolcats-kernel-warm-up");
        thread.setDaemon(true);
        thread.setPriority(Thread.MIN_PRIORITY);
        thread.start();
    }

    /**
     * Decode steps from which warming up pays off (~1 s against ~10 ms saved per step). For
     * whole `generate` runs on the 125M bench model, kernels against libtorch: 3.6-4.1 s vs
     * 3.5 s at 128 tokens, 4.6-4.7 s vs 5.3-5.5 s at 256.
     */
    public static final int WORTH_STEPS = 192;

    /** True once the kernels are compiled (after {@link #awaitReady}). */
    public static boolean ready() {
        return DONE.getCount() == 0;
    }

    /** Whether {@code steps} decode steps repay a warm-up that has not happened yet. */
    public static boolean worthIt(long steps) {
        return VectorKernels.enabled() && steps >= WORTH_STEPS;
    }

    /** Starts the warm-up if needed and waits for it (benchmarks and tests measure warm kernels). */
    public static void awaitReady() {
        startInBackground();
        if (!VectorKernels.enabled()) {
            return;
        }
        try {
            DONE.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void run() {
        int rows = 512;
        int cols = 512; // 512 KB of bf16: large enough for the threads' path too
        int d = 64;
        int heads = 8;
        int length = 160; // 8 heads x 160 keys: the parallel attention path
        try (Arena arena = Arena.ofShared()) {
            MemorySegment bf16 = arena.allocate(2L * rows * cols, 4096);
            MemorySegment f32 = arena.allocate(4L * 64 * cols, 4096);
            for (long i = 0; i < (long) rows * cols; i++) {
                bf16.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) 0x3c00); // 2^-7
            }
            for (long i = 0; i < 64L * cols; i++) {
                f32.setAtIndex(ValueLayout.JAVA_FLOAT, i, 0.01f);
            }
            MatrixView big = new MatrixView(bf16, rows, cols, true, null);
            MatrixView small = new MatrixView(bf16, 64, cols, true, null);
            MatrixView plain = new MatrixView(f32, 64, cols, false, null);
            float[] x = new float[4 * cols]; // up to 4 vectors: the batched path of continuous batching
            java.util.Arrays.fill(x, 0.5f);
            float[] y = new float[4 * rows];
            MemorySegment cache = arena.allocate(4L * heads * length * d, 64);
            float[] q = new float[heads * d];
            float[] out = new float[heads * d];
            float[] gate = new float[cols];
            float[] up = new float[cols];
            DecodeAttention.Shape one = new DecodeAttention.Shape(1, 1, 1, d, length, length);
            DecodeAttention.Shape many = new DecodeAttention.Shape(1, heads, heads / 2, d, length, length);
            for (int round = 0; round < ROUNDS; round++) {
                MatVec.multiply(small, x, 1, y, 0, 64);
                MatVec.multiply(small, x, 2, y, 0, 64);
                MatVec.multiply(small, x, 4, y, 0, 16);
                MatVec.multiply(plain, x, 1, y, 0, 64);
                DecodeAttention.attend(q, cache, cache, one, null, 0.125f, out);
                VectorOps.axpy(0.5f, cache, 0, out, 0, d);
                VectorOps.axpy(0.5f, out, 0, cache, 0, d);
                VectorOps.dot(out, 0, q, 0, d);
                VectorOps.expShifted(gate, 0, cols, 0f);
                Activations.siluTimes(gate, up);
                if (round % 8 == 0) {
                    // The threads' path: the shared pool and its workers run the same code.
                    MatVecPass.multiply(big, x, 1, y);
                    DecodeAttention.attend(q, cache, cache, many, null, 0.125f, out);
                }
            }
        }
    }
}
