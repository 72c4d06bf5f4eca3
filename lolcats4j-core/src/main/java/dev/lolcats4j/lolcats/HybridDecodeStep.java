package dev.lolcats4j.lolcats;

import dev.lolcats4j.kernels.TensorMemory;
import dev.lolcats4j.kernels.VectorOps;
import dev.lolcats4j.model.Attention;
import dev.lolcats4j.torch.Tensors;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.bytedeco.pytorch.Tensor;

/**
 * The Java form of {@link HybridState#step}, for one generation: the layer's constants (feature
 * map weights in place, window factors) and the arithmetic on one sequence of the batch at a
 * time, reading and writing the state's float32 buffers in place.
 */
final class HybridDecodeStep {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final float EPS = 1e-12f;

    private final int heads;
    private final int kvHeads;
    private final int d;
    private final int group;
    private final int capacity;
    private final FeatureMapKind kindQ;
    private final FeatureMapKind kindK;
    private final int featureDim;
    private final int width;       // Fw, the feature maps' output width
    private final MemorySegment weightQ; // [H, d, F]
    private final MemorySegment weightK;
    private final float[] biasQ;   // per head, or null
    private final float[] biasK;
    private final float[] gamma;   // per head
    private final float[] lambda;
    private final float scale;
    // Scratch, reused by every call (a state is decoded by one thread at a time).
    private final float[] u;
    private final float[] features;
    private final float[] numerator;
    private final float[] scores;
    private final float[] key;
    private final float[] value;

    // The state's buffers: fixed from its prefill on (every update is in place).
    private final MemorySegment s;      // [B, H, Fw, d]
    private final MemorySegment z;      // [B, H, Fw]
    private final MemorySegment keys;   // [B, Hkv, capacity, d], null without a window
    private final MemorySegment values;
    private final MemorySegment valid;  // [B, capacity]

    HybridDecodeStep(HybridState state, HybridParams p, Attention.DecodeShape shape, int capacity, int group) {
        this.s = TensorMemory.floats(state.s);
        this.z = TensorMemory.floats(state.z);
        this.keys = capacity == 0 ? null : TensorMemory.floats(state.keys);
        this.values = capacity == 0 ? null : TensorMemory.floats(state.values);
        this.valid = capacity == 0 ? null : TensorMemory.floats(state.valid);
        this.heads = shape.heads();
        this.kvHeads = shape.kvHeads();
        this.d = shape.headDim();
        this.group = group;
        this.capacity = capacity;
        this.kindQ = p.featureQ().kind();
        this.kindK = p.featureK().kind();
        this.featureDim = p.featureQ().featureDim();
        this.width = p.featureQ().outputWidth();
        this.weightQ = TensorMemory.floats(p.featureQ().weight());
        this.weightK = TensorMemory.floats(p.featureK().weight());
        this.biasQ = perHead(p.featureQ().bias());
        this.biasK = perHead(p.featureK().bias());
        this.gamma = perHead(p.gamma());
        this.lambda = perHead(p.lambda());
        this.scale = (float) (1.0 / Math.sqrt(d));
        this.u = new float[featureDim];
        this.features = new float[width];
        this.numerator = new float[d];
        this.scores = new float[Math.max(capacity, 1)];
        this.key = new float[d];
        this.value = new float[d];
    }

    /** Folds key/value [Hkv, d] (at {@code offset} in k and v) of sequence b into S and z with weight w. */
    void fold(int b, float[] k, float[] v, int offset, float w) {
        if (w == 0) {
            return; // a padding key adds nothing
        }
        for (int h = 0; h < heads; h++) {
            int g = h / group;
            featureMap(kindK, weightK, biasK, h, k, offset + g * d);
            long row = (long) (b * heads + h) * width;
            for (int f = 0; f < width; f++) {
                float phi = features[f] * w;
                VectorOps.axpy(phi, v, offset + g * d, s, 4L * (row + f) * d, d);
                long at = 4L * (row + f);
                z.set(FLOAT, at, z.get(FLOAT, at) + phi);
            }
        }
    }

    /** Folds the key/value leaving buffer slot {@code slot} of sequence b. */
    void foldSlot(int b, int slot) {
        float w = valid.get(FLOAT, 4L * (b * capacity + slot));
        if (w == 0) {
            return;
        }
        // Gather the slot's [Hkv, d] keys and values to arrays, laid out like a new token's.
        float[] k = new float[kvHeads * d];
        float[] v = new float[kvHeads * d];
        for (int g = 0; g < kvHeads; g++) {
            long at = 4L * ((long) (b * kvHeads + g) * capacity + slot) * d;
            MemorySegment.copy(keys, FLOAT, at, k, g * d, d);
            MemorySegment.copy(values, FLOAT, at, v, g * d, d);
        }
        fold(b, k, v, 0, w);
    }

    /** Writes the new token's keys and values [B, Hkv, d] of sequence b into buffer slot {@code slot}. */
    void writeSlot(int b, int slot, float[] k, float[] v) {
        for (int g = 0; g < kvHeads; g++) {
            long at = 4L * ((long) (b * kvHeads + g) * capacity + slot) * d;
            MemorySegment.copy(k, (b * kvHeads + g) * d, keys, FLOAT, at, d);
            MemorySegment.copy(v, (b * kvHeads + g) * d, values, FLOAT, at, d);
        }
        valid.set(FLOAT, 4L * (b * capacity + slot), 1f);
    }

    /** The outputs [H, d] of sequence b: linear part over S and z, plus the window's softmax part. */
    void attend(int b, float[] q, float[] out) {
        for (int h = 0; h < heads; h++) {
            int qOffset = (b * heads + h) * d;
            featureMap(kindQ, weightQ, biasQ, h, q, qOffset);
            java.util.Arrays.fill(numerator, 0f);
            float denominator = 0;
            long row = (long) (b * heads + h) * width;
            for (int f = 0; f < width; f++) {
                VectorOps.axpy(features[f], s, 4L * (row + f) * d, numerator, 0, d);
                denominator += features[f] * z.get(FLOAT, 4L * (row + f));
            }
            if (capacity > 0) {
                for (int i = 0; i < d; i++) {
                    numerator[i] *= lambda[h];
                }
                denominator *= lambda[h];
                denominator += window(b, h / group, q, qOffset, gamma[h]);
            }
            for (int i = 0; i < d; i++) {
                out[qOffset + i] = numerator[i] / denominator;
            }
        }
    }

    /**
     * Softmax over the valid buffer slots, weighted by gamma: adds sum_j a_j v_j to the
     * numerator and returns sum_j a_j.
     */
    private float window(int b, int g, float[] q, int qOffset, float weight) {
        long base = (long) (b * kvHeads + g) * capacity;
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < capacity; j++) {
            if (valid.get(FLOAT, 4L * (b * capacity + j)) == 0) {
                scores[j] = Float.NEGATIVE_INFINITY;
                continue;
            }
            scores[j] = VectorOps.dot(keys, 4L * (base + j) * d, q, qOffset, d) * scale;
            max = Math.max(max, scores[j]);
        }
        VectorOps.expShifted(scores, 0, capacity, max);
        float sum = 0;
        for (int j = 0; j < capacity; j++) {
            float a = scores[j] * weight;
            if (a != 0) {
                VectorOps.axpy(a, values, 4L * (base + j) * d, numerator, 0, d);
                sum += a;
            }
        }
        return sum;
    }

    /** features = phi(x) for head h, with x at {@code offset}: act(x W_h + b_h), clamped at 1e-12. */
    private void featureMap(FeatureMapKind kind, MemorySegment weight, float[] bias, int h, float[] x, int offset) {
        java.util.Arrays.fill(u, 0f);
        for (int i = 0; i < d; i++) {
            VectorOps.axpy(x[offset + i], weight, 4L * ((long) h * d + i) * featureDim, u, 0, featureDim);
        }
        if (bias != null) {
            for (int f = 0; f < featureDim; f++) {
                u[f] += bias[h];
            }
        }
        int n = featureDim;
        switch (kind) {
            case SOFTMAX_DIM, EXP_DIM -> {
                float max = Float.NEGATIVE_INFINITY;
                float min = Float.POSITIVE_INFINITY;
                for (int f = 0; f < n; f++) {
                    max = Math.max(max, u[f]);
                    min = Math.min(min, u[f]);
                    features[f] = u[f];
                    features[n + f] = -u[f];
                }
                float positive = VectorOps.expShifted(features, 0, n, max);   // exp(u - max)
                float negative = VectorOps.expShifted(features, n, n, -min);  // exp(-u + min)
                if (kind == FeatureMapKind.SOFTMAX_DIM) {
                    for (int f = 0; f < n; f++) {
                        features[f] /= positive;
                        features[n + f] /= negative;
                    }
                }
            }
            case RELU -> {
                for (int f = 0; f < n; f++) {
                    features[f] = Math.max(u[f], 0f);
                }
            }
            case POS_ELU -> {
                for (int f = 0; f < n; f++) {
                    features[f] = u[f] > 0 ? u[f] + 1 : (float) Math.exp(u[f]);
                }
            }
        }
        for (int f = 0; f < width; f++) {
            features[f] = Math.max(features[f], EPS);
        }
    }

    /** A per-head tensor ([1, H, 1, 1] or [H]) as floats; null stays null. */
    private static float[] perHead(Tensor t) {
        return t == null ? null : Tensors.toFloats(t.detach().reshape(-1));
    }
}
