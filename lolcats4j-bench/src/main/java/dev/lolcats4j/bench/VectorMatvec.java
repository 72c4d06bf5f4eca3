package dev.lolcats4j.bench;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.pytorch.Tensor;

/**
 * Prototype: y = W x with W bf16 [rows, cols] row-major as raw 16-bit patterns in a Java
 * short[] (copied once from the libtorch tensor: at language level 21 the FFM MemorySegment
 * that would read a memory-mapped file in place is still a preview API), x and y float32.
 * The bf16 to float conversion is a 16-bit left shift; rows are split over the libtorch
 * thread count.
 *
 * <p>Needs {@code --add-modules jdk.incubator.vector}; check {@link #available()} before
 * touching this class.
 */
final class VectorMatvec {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.length() * 16));
    private static volatile VectorMatvec shared;

    private final int threads;
    private final ExecutorService pool;

    private VectorMatvec(int threads) {
        this.threads = threads;
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "vector-matvec");
            t.setDaemon(true);
            return t;
        });
    }

    static boolean available() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }

    static VectorMatvec shared() {
        if (shared == null) {
            synchronized (VectorMatvec.class) {
                if (shared == null) {
                    shared = new VectorMatvec(dev.lolcats4j.torch.Natives.threads());
                }
            }
        }
        return shared;
    }

    /** The raw bf16 bits of a contiguous bf16 tensor. */
    static short[] bits(Tensor bf16) {
        Tensor c = bf16.contiguous();
        short[] out = new short[Math.toIntExact(c.numel())];
        new ShortPointer(c.data_ptr()).capacity(out.length).get(out);
        return out;
    }

    void bf16(short[] w, int rows, int cols, float[] x, float[] y) {
        if (threads == 1) {
            rows(w, 0, rows, cols, x, y);
            return;
        }
        Future<?>[] parts = new Future<?>[threads];
        int per = (rows + threads - 1) / threads;
        for (int t = 0; t < threads; t++) {
            int from = Math.min(rows, t * per);
            int to = Math.min(rows, from + per);
            parts[t] = pool.submit(() -> rows(w, from, to, cols, x, y));
        }
        try {
            for (Future<?> f : parts) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Two rows per pass so each x load feeds two FMAs. */
    private static void rows(short[] w, int from, int to, int cols, float[] x, float[] y) {
        int step = F.length();
        int bound = cols - cols % step;
        int r = from;
        for (; r + 1 < to; r += 2) {
            int base0 = r * cols;
            int base1 = base0 + cols;
            FloatVector acc0 = FloatVector.zero(F);
            FloatVector acc1 = FloatVector.zero(F);
            for (int c = 0; c < bound; c += step) {
                FloatVector xv = FloatVector.fromArray(F, x, c);
                acc0 = widen(w, base0 + c).fma(xv, acc0);
                acc1 = widen(w, base1 + c).fma(xv, acc1);
            }
            float s0 = acc0.reduceLanes(VectorOperators.ADD);
            float s1 = acc1.reduceLanes(VectorOperators.ADD);
            for (int c = bound; c < cols; c++) {
                s0 += scalar(w, base0 + c) * x[c];
                s1 += scalar(w, base1 + c) * x[c];
            }
            y[r] = s0;
            y[r + 1] = s1;
        }
        for (; r < to; r++) {
            int base = r * cols;
            FloatVector acc = FloatVector.zero(F);
            for (int c = 0; c < bound; c += step) {
                acc = widen(w, base + c).fma(FloatVector.fromArray(F, x, c), acc);
            }
            float s = acc.reduceLanes(VectorOperators.ADD);
            for (int c = bound; c < cols; c++) {
                s += scalar(w, base + c) * x[c];
            }
            y[r] = s;
        }
    }

    private static FloatVector widen(short[] w, int offset) {
        ShortVector s = ShortVector.fromArray(S, w, offset);
        IntVector i = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
        return i.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static float scalar(short[] w, int offset) {
        short bits = w[offset];
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }
}
