package dev.lolcats4j.kernels;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix times a few vectors, y = W x, with W in bf16 or float32 read in place and x, y in
 * float32; sums are float32. A bf16 element widens to float exactly by a 16-bit left shift.
 *
 * <p>Decode is memory-bound: each weight byte is used once per token, so all that matters is
 * streaming W at the memory's rate. With several vectors, one weight row is reused from L1
 * for each of them.
 */
final class MatVec {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.length() * 16));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int LANES = F.length();

    private MatVec() {}

    /**
     * Rows [from, to) of y = W x for {@code batch} vectors: x is [batch, cols] and y is
     * [batch, rows], both row-major.
     */
    static void multiply(MatrixView w, float[] x, int batch, float[] y, int from, int to) {
        if (batch == 1 && w.bf16()) {
            bf16Single(w.data(), w.cols(), x, y, from, to);
            return;
        }
        int cols = w.cols();
        int rows = w.rows();
        if (batch >= 4 && w.bf16()) {
            bf16Batch(w.data(), cols, rows, x, batch, y, from, to);
            return;
        }
        for (int r = from; r < to; r++) {
            long rowBytes = (long) r * cols * (w.bf16() ? 2 : 4);
            for (int b = 0; b < batch; b++) {
                y[b * rows + r] = w.bf16()
                        ? bf16Dot(w.data(), rowBytes, x, b * cols, cols)
                        : f32Dot(w.data(), rowBytes, x, b * cols, cols);
            }
        }
    }

    /**
     * Four rows at once, taken from the four quarters of the range so that they are four
     * separate sequential streams through memory. One core keeps more cache-line misses in
     * flight that way: 2 cores streamed 30-31 GB/s through 200 MB of bf16 weights here (a
     * plain sum over the same bytes: 32 GB/s), against 23-26 GB/s for one row at a time and
     * 18 GB/s for four adjacent rows.
     */
    private static void bf16Single(MemorySegment w, int cols, float[] x, float[] y, int from, int to) {
        long rowBytes = 2L * cols;
        int bound = cols - cols % LANES;
        int quarter = (to - from) / 4;
        for (int i = 0; i < quarter; i++) {
            int r0 = from + i;
            long b0 = r0 * rowBytes;
            long b1 = b0 + quarter * rowBytes;
            long b2 = b1 + quarter * rowBytes;
            long b3 = b2 + quarter * rowBytes;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int c = 0; c < bound; c += LANES) {
                FloatVector xv = FloatVector.fromArray(F, x, c);
                long offset = 2L * c;
                a0 = widen(w, b0 + offset).fma(xv, a0);
                a1 = widen(w, b1 + offset).fma(xv, a1);
                a2 = widen(w, b2 + offset).fma(xv, a2);
                a3 = widen(w, b3 + offset).fma(xv, a3);
            }
            y[r0] = a0.reduceLanes(VectorOperators.ADD) + bf16Tail(w, b0, x, 0, bound, cols);
            y[r0 + quarter] = a1.reduceLanes(VectorOperators.ADD) + bf16Tail(w, b1, x, 0, bound, cols);
            y[r0 + 2 * quarter] = a2.reduceLanes(VectorOperators.ADD) + bf16Tail(w, b2, x, 0, bound, cols);
            y[r0 + 3 * quarter] = a3.reduceLanes(VectorOperators.ADD) + bf16Tail(w, b3, x, 0, bound, cols);
        }
        for (int r = from + 4 * quarter; r < to; r++) {
            y[r] = bf16Dot(w, r * rowBytes, x, 0, cols);
        }
    }

    /**
     * Several vectors (continuous batching): each widened piece of a bf16 row serves four
     * vectors at once, so the bf16-to-float conversion is paid once per four products
     * instead of once per product.
     */
    private static void bf16Batch(MemorySegment w, int cols, int rows, float[] x, int batch, float[] y, int from, int to) {
        int bound = cols - cols % LANES;
        for (int r = from; r < to; r++) {
            long rowBytes = (long) r * cols * 2;
            int b = 0;
            for (; b + 4 <= batch; b += 4) {
                int x0 = b * cols;
                int x1 = x0 + cols;
                int x2 = x1 + cols;
                int x3 = x2 + cols;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                for (int c = 0; c < bound; c += LANES) {
                    FloatVector wv = widen(w, rowBytes + 2L * c);
                    a0 = wv.fma(FloatVector.fromArray(F, x, x0 + c), a0);
                    a1 = wv.fma(FloatVector.fromArray(F, x, x1 + c), a1);
                    a2 = wv.fma(FloatVector.fromArray(F, x, x2 + c), a2);
                    a3 = wv.fma(FloatVector.fromArray(F, x, x3 + c), a3);
                }
                y[b * rows + r] = a0.reduceLanes(VectorOperators.ADD) + bf16Tail(w, rowBytes, x, x0, bound, cols);
                y[(b + 1) * rows + r] = a1.reduceLanes(VectorOperators.ADD) + bf16Tail(w, rowBytes, x, x1, bound, cols);
                y[(b + 2) * rows + r] = a2.reduceLanes(VectorOperators.ADD) + bf16Tail(w, rowBytes, x, x2, bound, cols);
                y[(b + 3) * rows + r] = a3.reduceLanes(VectorOperators.ADD) + bf16Tail(w, rowBytes, x, x3, bound, cols);
            }
            for (; b < batch; b++) {
                y[b * rows + r] = bf16Dot(w, rowBytes, x, b * cols, cols);
            }
        }
    }

    private static float bf16Dot(MemorySegment w, long rowBytes, float[] x, int xOffset, int cols) {
        int bound = cols - cols % LANES;
        FloatVector acc = FloatVector.zero(F);
        for (int c = 0; c < bound; c += LANES) {
            acc = widen(w, rowBytes + 2L * c).fma(FloatVector.fromArray(F, x, xOffset + c), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD) + bf16Tail(w, rowBytes, x, xOffset, bound, cols);
    }

    private static float f32Dot(MemorySegment w, long rowBytes, float[] x, int xOffset, int cols) {
        int bound = cols - cols % LANES;
        FloatVector acc = FloatVector.zero(F);
        for (int c = 0; c < bound; c += LANES) {
            acc = FloatVector.fromMemorySegment(F, w, rowBytes + 4L * c, LE).fma(FloatVector.fromArray(F, x, xOffset + c), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (int c = bound; c < cols; c++) {
            sum += w.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, rowBytes + 4L * c) * x[xOffset + c];
        }
        return sum;
    }

    /** The columns past the last full vector, scalar. */
    private static float bf16Tail(MemorySegment w, long rowBytes, float[] x, int xOffset, int from, int cols) {
        float sum = 0;
        for (int c = from; c < cols; c++) {
            short bits = w.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, rowBytes + 2L * c);
            sum += Float.intBitsToFloat((bits & 0xffff) << 16) * x[xOffset + c];
        }
        return sum;
    }

    /** LANES bf16 values at {@code byteOffset}, widened to float (exact). */
    private static FloatVector widen(MemorySegment w, long byteOffset) {
        ShortVector s = ShortVector.fromMemorySegment(S, w, byteOffset, LE);
        IntVector i = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
        return i.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }
}
