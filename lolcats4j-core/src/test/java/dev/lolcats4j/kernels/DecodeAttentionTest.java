package dev.lolcats4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Softmax decode attention against a float64 loop written from the definition. */
class DecodeAttentionTest {

    @ParameterizedTest(name = "B={0} H={1} Hkv={2} d={3} len={4} padded={5}")
    @CsvSource({
        "1, 1, 1, 4, 1, false", "1, 4, 4, 16, 7, false", "2, 6, 2, 20, 33, true", "1, 12, 4, 64, 200, false",
        "2, 8, 2, 64, 1100, true", "3, 4, 1, 17, 600, true"})
    void matchesFloat64(int batch, int heads, int kvHeads, int d, int length, boolean padded) {
        Random random = new Random(batch * 1000L + length);
        int capacity = length + 5; // unused slots past the length must be ignored
        float[] q = gaussians(random, batch * heads * d);
        float[] k = gaussians(random, batch * kvHeads * capacity * d);
        float[] v = gaussians(random, batch * kvHeads * capacity * d);
        boolean[] valid = null;
        if (padded) {
            valid = new boolean[batch * length];
            for (int b = 0; b < batch; b++) {
                int pad = Math.min(length - 1, b * 3 + 1);
                for (int t = 0; t < length; t++) {
                    valid[b * length + t] = t >= pad;
                }
            }
        }
        // Shared: the kernel threads read the buffers too.
        try (Arena arena = Arena.ofShared()) {
            MemorySegment keys = arena.allocateFrom(ValueLayout.JAVA_FLOAT, k);
            MemorySegment values = arena.allocateFrom(ValueLayout.JAVA_FLOAT, v);
            float scale = (float) (1 / Math.sqrt(d));
            float[] out = new float[q.length];
            DecodeAttention.attend(q, keys, values, new DecodeAttention.Shape(batch, heads, kvHeads, d, capacity, length), valid,
                    scale, out);
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    int kvHead = h / (heads / kvHeads);
                    int kvBase = (b * kvHeads + kvHead) * capacity * d;
                    int qBase = (b * heads + h) * d;
                    double[] weights = new double[length];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t = 0; t < length; t++) {
                        if (valid != null && !valid[b * length + t]) {
                            weights[t] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double dot = 0;
                        for (int i = 0; i < d; i++) {
                            dot += (double) q[qBase + i] * k[kvBase + t * d + i];
                        }
                        weights[t] = dot * scale;
                        max = Math.max(max, weights[t]);
                    }
                    double sum = 0;
                    for (int t = 0; t < length; t++) {
                        weights[t] = Math.exp(weights[t] - max);
                        sum += weights[t];
                    }
                    for (int i = 0; i < d; i++) {
                        double expected = 0;
                        for (int t = 0; t < length; t++) {
                            expected += weights[t] / sum * v[kvBase + t * d + i];
                        }
                        assertEquals(expected, out[qBase + i], 2e-5, "b " + b + " head " + h + " dim " + i);
                    }
                }
            }
        }
    }

    private static float[] gaussians(Random random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }
}
