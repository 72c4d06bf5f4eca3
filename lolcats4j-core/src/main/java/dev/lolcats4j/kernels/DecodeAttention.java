package dev.lolcats4j.kernels;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Softmax attention of one new query per sequence and head over a key/value cache, in float32:
 * the decode step of softmax layers. Keys and values are read in place from the cache's
 * buffers, laid out [batch, kvHeads, capacity, d]; grouped-query heads share their key/value
 * head without copies; key/value heads are spread over the kernel threads.
 *
 * <p>Use only when {@link VectorKernels#enabled()}.
 */
public final class DecodeAttention {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int TILE = 512; // keys per tile: 128 KB of keys or values at d = 64

    /**
     * Sizes of one call.
     *
     * @param capacity positions the cache buffers hold
     * @param length cached positions, the new one included
     * @param window sliding window W: the query sees only the last W positions; 0 = all
     */
    public record Shape(int batch, int heads, int kvHeads, int d, int capacity, int length, int window) {

        /** Attention over every cached position. */
        public Shape(int batch, int heads, int kvHeads, int d, int capacity, int length) {
            this(batch, heads, kvHeads, d, capacity, length, 0);
        }

        /** The first cached position the query sees. */
        int first() {
            return window > 0 && length > window ? length - window : 0;
        }
    }

    private DecodeAttention() {}

    /**
     * @param q [batch, heads, d] post-RoPE queries
     * @param keys cache keys [batch, kvHeads, capacity, d] float32, readable from any thread
     * @param values cache values, same layout
     * @param keyValid [batch, length] false for padding keys, or null when there is none
     * @param out [batch, heads, d] written
     */
    public static void attend(float[] q, MemorySegment keys, MemorySegment values, Shape shape, boolean[] keyValid,
            float scale, float[] out) {
        int tasks = shape.batch() * shape.kvHeads();
        ParallelRows.Body body = (from, to) -> {
            for (int task = from; task < to; task++) {
                group(task, q, keys, values, shape, keyValid, scale, out);
            }
        };
        // Short contexts: a hand-off costs more than the whole attention.
        if ((long) shape.batch() * shape.heads() * shape.length() * shape.d() < 1 << 16) {
            body.rows(0, tasks);
        } else {
            MatVecPass.pool().run(tasks, 1, body);
        }
    }

    /**
     * The query heads that share one key/value head, together: keys and values are walked in
     * tiles small enough to stay in L2 while every head of the group uses them, so each comes
     * from memory once per step however long the context.
     */
    private static void group(int task, float[] q, MemorySegment keys, MemorySegment values, Shape s, boolean[] keyValid,
            float scale, float[] out) {
        int b = task / s.kvHeads();
        int kvHead = task % s.kvHeads();
        int size = s.heads() / s.kvHeads();
        int d = s.d();
        int n = s.length();
        int first = s.first(); // keys before it are outside the sliding window
        long rowBytes = 4L * d;
        long base = ((long) (b * s.kvHeads() + kvHead) * s.capacity()) * rowBytes;
        int firstRow = b * s.heads() + kvHead * size;
        float[] scores = new float[size * n];
        for (int start = first; start < n; start += TILE) {
            int end = Math.min(n, start + TILE);
            for (int g = 0; g < size; g++) {
                int qOffset = (firstRow + g) * d;
                for (int t = start; t < end; t++) {
                    // A padding key is hidden, except from its own query (as in the parallel form: no empty rows).
                    boolean hidden = keyValid != null && !keyValid[b * n + t] && t != n - 1;
                    scores[g * n + t] = hidden ? Float.NEGATIVE_INFINITY : VectorOps.dot(keys, base + t * rowBytes, q, qOffset, d) * scale;
                }
            }
        }
        for (int g = 0; g < size; g++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int t = first; t < n; t++) {
                max = Math.max(max, scores[g * n + t]);
            }
            float inverse = 1 / VectorOps.expShifted(scores, g * n + first, n - first, max);
            for (int t = first; t < n; t++) {
                scores[g * n + t] *= inverse;
            }
            java.util.Arrays.fill(out, (firstRow + g) * d, (firstRow + g + 1) * d, 0f);
        }
        for (int start = first; start < n; start += TILE) {
            int end = Math.min(n, start + TILE);
            for (int g = 0; g < size; g++) {
                addWeightedValues(scores, g * n + start, end - start, values, base + start * rowBytes, d, out, (firstRow + g) * d);
            }
        }
    }

    /**
     * out += sum_t p[t] v[t] over n keys, one lane block of d at a time, so that the running
     * sum stays in a register instead of going through memory for every key.
     */
    private static void addWeightedValues(float[] p, int pOffset, int n, MemorySegment values, long base, int d, float[] out,
            int offset) {
        int bound = d - d % F.length();
        long rowBytes = 4L * d;
        for (int j = 0; j < bound; j += F.length()) {
            FloatVector acc = FloatVector.fromArray(F, out, offset + j);
            long at = base + 4L * j;
            for (int t = 0; t < n; t++, at += rowBytes) {
                acc = FloatVector.fromMemorySegment(F, values, at, LE).fma(FloatVector.broadcast(F, p[pOffset + t]), acc);
            }
            acc.intoArray(out, offset + j);
        }
        for (int j = bound; j < d; j++) {
            float sum = out[offset + j];
            long at = base + 4L * j;
            for (int t = 0; t < n; t++, at += rowBytes) {
                sum += p[pOffset + t] * values.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, at);
            }
            out[offset + j] = sum;
        }
    }
}
