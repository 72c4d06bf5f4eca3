package dev.lolcats4j.kernels;

import java.util.ArrayList;
import java.util.List;

/**
 * Several independent products y_i = W_i x_i, run as one parallel pass over all their rows
 * (q, k and v of a layer, or gate and up, share a pass: one hand-off to the threads instead
 * of three). Collect with {@link #add}, then {@link #run}; a pass can be reused after that.
 *
 * <p>Use only when {@link VectorKernels#enabled()}.
 */
public final class MatVecPass {

    private static volatile ParallelRows shared;

    private record Product(MatrixView w, float[] x, float[] y, int firstRow) {}

    private final List<Product> products = new ArrayList<>();
    private int batch = 1;
    private int totalRows;

    /** Number of vectors in every product of this pass (x is [batch, cols], y [batch, rows]). */
    public MatVecPass batch(int vectors) {
        if (!products.isEmpty()) {
            throw new IllegalStateException("set the batch before adding products");
        }
        this.batch = vectors;
        return this;
    }

    /** Adds y = W x; y must hold batch x W.rows floats, x batch x W.cols. */
    public MatVecPass add(MatrixView w, float[] x, float[] y) {
        if (x.length < (long) batch * w.cols() || y.length < (long) batch * w.rows()) {
            throw new IllegalArgumentException("vectors too short for a " + w.rows() + " x " + w.cols() + " matrix and batch " + batch);
        }
        products.add(new Product(w, x, y, totalRows));
        totalRows += w.rows();
        return this;
    }

    /** Computes every product added since the last run, then forgets them. */
    public void run() {
        int b = batch;
        List<Product> work = List.copyOf(products);
        long bytes = work.stream().mapToLong(p -> p.w().bytes()).sum();
        ParallelRows rows = pool();
        ParallelRows.Body body = (from, to) -> {
            for (Product p : work) {
                int lo = Math.max(from, p.firstRow());
                int hi = Math.min(to, p.firstRow() + p.w().rows());
                if (lo < hi) {
                    MatVec.multiply(p.w(), p.x(), b, p.y(), lo - p.firstRow(), hi - p.firstRow());
                }
            }
        };
        // Below ~256 KB a hand-off costs more than it saves.
        if (bytes < 256 * 1024) {
            body.rows(0, totalRows);
        } else {
            // Parts of at least ~64 KB of weights (a few microseconds): the threads finish
            // within one of them; the first parts are much longer (see ParallelRows).
            long rowBytes = Math.max(1, bytes / totalRows);
            rows.run(totalRows, (int) Math.max(4, (64 * 1024) / rowBytes), body);
        }
        products.clear();
        totalRows = 0;
    }

    /** One product, y = W x, for {@code batch} vectors. */
    public static void multiply(MatrixView w, float[] x, int batch, float[] y) {
        new MatVecPass().batch(batch).add(w, x, y).run();
    }

    /** The threads every kernel of this package shares. */
    static ParallelRows pool() {
        ParallelRows p = shared;
        if (p == null) {
            synchronized (MatVecPass.class) {
                p = shared;
                if (p == null) {
                    p = new ParallelRows(dev.lolcats4j.torch.Natives.threads());
                    shared = p;
                }
            }
        }
        return p;
    }
}
