package dev.lolcats4j.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Small float32 vector primitives for the decode steps of attention layers, over Java arrays
 * and libtorch buffers (byte offsets into a {@link MemorySegment}).
 *
 * <p>Use only when {@link VectorKernels#enabled()}.
 */
public final class VectorOps {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private VectorOps() {}

    /** sum_i a[i] b[i] over n floats. */
    public static float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        int bound = F.loopBound(n);
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < bound; i += F.length()) {
            acc = FloatVector.fromArray(F, a, aOffset + i).fma(FloatVector.fromArray(F, b, bOffset + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (int i = bound; i < n; i++) {
            sum += a[aOffset + i] * b[bOffset + i];
        }
        return sum;
    }

    /** sum_i a[i] b[i] with a read from memory at a byte offset. */
    public static float dot(MemorySegment a, long aByteOffset, float[] b, int bOffset, int n) {
        int bound = F.loopBound(n);
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < bound; i += F.length()) {
            acc = FloatVector.fromMemorySegment(F, a, aByteOffset + 4L * i, LE).fma(FloatVector.fromArray(F, b, bOffset + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (int i = bound; i < n; i++) {
            sum += a.get(FLOAT, aByteOffset + 4L * i) * b[bOffset + i];
        }
        return sum;
    }

    /** y += alpha x, with x in memory and y an array. */
    public static void axpy(float alpha, MemorySegment x, long xByteOffset, float[] y, int yOffset, int n) {
        int bound = F.loopBound(n);
        FloatVector a = FloatVector.broadcast(F, alpha);
        for (int i = 0; i < bound; i += F.length()) {
            FloatVector.fromMemorySegment(F, x, xByteOffset + 4L * i, LE).fma(a, FloatVector.fromArray(F, y, yOffset + i))
                    .intoArray(y, yOffset + i);
        }
        for (int i = bound; i < n; i++) {
            y[yOffset + i] += alpha * x.get(FLOAT, xByteOffset + 4L * i);
        }
    }

    /** y += alpha x, with x an array and y in memory (updates a libtorch buffer in place). */
    public static void axpy(float alpha, float[] x, int xOffset, MemorySegment y, long yByteOffset, int n) {
        int bound = F.loopBound(n);
        FloatVector a = FloatVector.broadcast(F, alpha);
        for (int i = 0; i < bound; i += F.length()) {
            long at = yByteOffset + 4L * i;
            FloatVector.fromArray(F, x, xOffset + i).fma(a, FloatVector.fromMemorySegment(F, y, at, LE)).intoMemorySegment(y, at, LE);
        }
        for (int i = bound; i < n; i++) {
            long at = yByteOffset + 4L * i;
            y.set(FLOAT, at, y.get(FLOAT, at) + alpha * x[xOffset + i]);
        }
    }

    /** x[i] = exp(x[i] - shift) over n floats; returns their sum. exp(-inf) = 0. */
    public static float expShifted(float[] x, int offset, int n, float shift) {
        int bound = F.loopBound(n);
        FloatVector s = FloatVector.broadcast(F, shift);
        FloatVector total = FloatVector.zero(F);
        for (int i = 0; i < bound; i += F.length()) {
            FloatVector e = FloatVector.fromArray(F, x, offset + i).sub(s).lanewise(VectorOperators.EXP);
            e.intoArray(x, offset + i);
            total = total.add(e);
        }
        float sum = total.reduceLanes(VectorOperators.ADD);
        for (int i = bound; i < n; i++) {
            float e = (float) Math.exp(x[offset + i] - shift);
            x[offset + i] = e;
            sum += e;
        }
        return sum;
    }
}
