package dev.lolcats4j.kernels;

/**
 * Independent rows of work spread over the threads the kernels share (the caller and its
 * spinning workers), for decode-step loops outside this package.
 *
 * <p>Use only when {@link VectorKernels#enabled()}.
 */
public final class Parallel {

    /** Rows [from, to) of the work. */
    @FunctionalInterface
    public interface Rows {
        void run(int from, int to);
    }

    private Parallel() {}

    /** Runs rows [0, rows) in parts of at least {@code chunk} rows; returns when all are done. */
    public static void rows(int rows, int chunk, Rows body) {
        MatVecPass.pool().run(rows, chunk, body::run);
    }
}
