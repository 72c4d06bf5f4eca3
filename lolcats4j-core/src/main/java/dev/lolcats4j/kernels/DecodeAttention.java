package dev.lolcats4j.kernels;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Softmax attention of one new query per sequence and head over a key/value cache, in float32:
 * the decode step of softmax layers. Keys and values are read in place from the cache's
 * buffers, laid out [batch, kvHeads, capacity, d]; grouped-query heads share their key/value
 * head without copies. Heads are spread over the kernel threads.
 *
 * <p>Use only when {@link VectorKernels#enabled()}.
 */
public final class DecodeAttention {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /**
     * Sizes of one call.
     *
     * @param capacity positions the cache buffers hold
     * @param length cached positions, the new one included
     */
    public record Shape(int batch, int heads, int kvHeads, int d, int capacity, int length) {}

    private DecodeAttention() {}

    /**
     * @param q [batch, heads, d] post-RoPE queries
     * @param keys cache keys [batch, kvHeads, capacity, d] float32
     * @param values cache values, same layout
     * @param keyValid [batch, length] false for padding keys, or null when there is none
     * @param out [batch, heads, d] written
     */
    public static void attend(float[] q, MemorySegment keys, MemorySegment values, Shape shape, boolean[] keyValid,
            float scale, float[] out) {
        int rows = shape.batch() * shape.heads();
        ParallelRows.Body body = (from, to) -> {
            float[] scores = new float[shape.length()];
            for (int row = from; row < to; row++) {
                head(row, q, keys, values, shape, keyValid, scale, scores, out);
            }
        };
        // Short contexts: a hand-off costs more than the whole attention.
        if ((long) rows * shape.length() * shape.d() < 1 << 16) {
            body.rows(0, rows);
        } else {
            MatVecPass.pool().run(rows, 1, body);
        }
    }

    private static void head(int row, float[] q, MemorySegment keys, MemorySegment values, Shape s, boolean[] keyValid,
            float scale, float[] scores, float[] out) {
        int b = row / s.heads();
        int h = row % s.heads();
        int kvHead = h / (s.heads() / s.kvHeads());
        int d = s.d();
        int qOffset = row * d;
        long base = ((long) (b * s.kvHeads() + kvHead) * s.capacity()) * d * 4L;
        float max = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < s.length(); t++) {
            // A padding key is hidden, except from its own query (as in the parallel form: no empty rows).
            if (keyValid != null && !keyValid[b * s.length() + t] && t != s.length() - 1) {
                scores[t] = Float.NEGATIVE_INFINITY;
                continue;
            }
            float score = dot(q, qOffset, keys, base + (long) t * d * 4L, d) * scale;
            scores[t] = score;
            max = Math.max(max, score);
        }
        float sum = softmaxNumerators(scores, s.length(), max);
        float inverse = 1 / sum;
        for (int t = 0; t < s.length(); t++) {
            scores[t] *= inverse;
        }
        weightedValues(scores, s.length(), values, base, d, out, qOffset);
    }

    /** scores[t] = exp(scores[t] - max) (0 for hidden keys), vectorised; returns their sum. */
    private static float softmaxNumerators(float[] scores, int n, float max) {
        int bound = F.loopBound(n);
        FloatVector maxVector = FloatVector.broadcast(F, max);
        FloatVector total = FloatVector.zero(F);
        int t = 0;
        for (; t < bound; t += F.length()) {
            // exp(-inf - max) = 0: hidden keys need no special case.
            FloatVector p = FloatVector.fromArray(F, scores, t).sub(maxVector).lanewise(VectorOperators.EXP);
            p.intoArray(scores, t);
            total = total.add(p);
        }
        float sum = total.reduceLanes(VectorOperators.ADD);
        for (; t < n; t++) {
            float p = (float) Math.exp(scores[t] - max);
            scores[t] = p;
            sum += p;
        }
        return sum;
    }

    private static float dot(float[] q, int qOffset, MemorySegment keys, long byteOffset, int d) {
        int bound = d - d % F.length();
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < bound; i += F.length()) {
            acc = FloatVector.fromMemorySegment(F, keys, byteOffset + 4L * i, LE).fma(FloatVector.fromArray(F, q, qOffset + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (int i = bound; i < d; i++) {
            sum += keys.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, byteOffset + 4L * i) * q[qOffset + i];
        }
        return sum;
    }

    /**
     * out = sum_t p[t] v[t], one lane block of d at a time over all keys, so that the running
     * sum stays in a register instead of going through memory for every key.
     */
    private static void weightedValues(float[] p, int n, MemorySegment values, long base, int d, float[] out, int offset) {
        int bound = d - d % F.length();
        long rowBytes = 4L * d;
        for (int j = 0; j < bound; j += F.length()) {
            FloatVector acc = FloatVector.zero(F);
            long at = base + 4L * j;
            for (int t = 0; t < n; t++, at += rowBytes) {
                acc = FloatVector.fromMemorySegment(F, values, at, LE).fma(FloatVector.broadcast(F, p[t]), acc);
            }
            acc.intoArray(out, offset + j);
        }
        for (int j = bound; j < d; j++) {
            float sum = 0;
            long at = base + 4L * j;
            for (int t = 0; t < n; t++, at += rowBytes) {
                sum += p[t] * values.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, at);
            }
            out[offset + j] = sum;
        }
    }
}
