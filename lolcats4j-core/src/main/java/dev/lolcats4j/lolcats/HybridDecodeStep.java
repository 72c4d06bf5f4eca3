package dev.lolcats4j.lolcats;

import dev.lolcats4j.kernels.Parallel;
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

    /** Per-thread working arrays. */
    final class Scratch {
        final float[] u = new float[featureDim];
        final float[] features = new float[width];
        final float[] numerator = new float[d];
        final float[] scores = new float[Math.max(capacity, 1)];
        final float[] cacheScores = new float[sparse == null ? 0 : sparse.cacheSize()];
    }

    /** The sparse cache's part of the step, or null without one. */
    private final SparseCacheDecode sparse;

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
        this.sparse = state.cacheSize() == 0 ? null : new SparseCacheDecode(this, state, shape, group);
    }

    int heads() {
        return heads;
    }

    int kvHeads() {
        return kvHeads;
    }

    int headDim() {
        return d;
    }

    int width() {
        return width;
    }

    MemorySegment s() {
        return s;
    }

    MemorySegment z() {
        return z;
    }

    Scratch newScratch() {
        return new Scratch();
    }

    /** phi_k of head h for the vector at {@code offset} of x, into {@code scratch.features}. */
    float[] keyFeatures(Scratch scratch, int h, float[] x, int offset) {
        featureMap(scratch, kindK, weightK, biasK, h, x, offset);
        return scratch.features;
    }

    /**
     * One step for the whole batch: q [B, H, d], k and v [B, Hkv, d] of the new token, out
     * [B, H, d]. With a window, {@code evict} says whether buffer slot {@code slot} holds a key
     * to fold into S and z (or, with a sparse cache, to compete for it) before the new one takes
     * its place; {@code blockStart} says the token starts a block of W positions (sparse cache).
     */
    void step(float[] q, float[] k, float[] v, float[] out, int batch, int slot, boolean evict, boolean blockStart) {
        // Keys that move into S: the evicted slot's (gathered before it is overwritten), or,
        // without a window, the new token's own.
        float[] foldKeys = k;
        float[] foldValues = v;
        float[] foldWeights = new float[batch];
        java.util.Arrays.fill(foldWeights, 1f);
        if (capacity > 0) {
            foldKeys = new float[batch * kvHeads * d];
            foldValues = new float[batch * kvHeads * d];
            for (int b = 0; b < batch; b++) {
                foldWeights[b] = evict ? valid.get(FLOAT, 4L * (b * capacity + slot)) : 0f;
                for (int g = 0; g < kvHeads; g++) {
                    long at = 4L * ((long) (b * kvHeads + g) * capacity + slot) * d;
                    int to = (b * kvHeads + g) * d;
                    if (evict) {
                        MemorySegment.copy(keys, FLOAT, at, foldKeys, to, d);
                        MemorySegment.copy(values, FLOAT, at, foldValues, to, d);
                    }
                    MemorySegment.copy(k, to, keys, FLOAT, at, d);
                    MemorySegment.copy(v, to, values, FLOAT, at, d);
                }
                valid.set(FLOAT, 4L * (b * capacity + slot), 1f);
            }
        }
        float[] fk = foldKeys;
        float[] fv = foldValues;
        if (sparse != null) {
            sparse.step(fk, fv, foldWeights, batch, blockStart);  // the leaving pairs compete for the cache
            Parallel.rows(batch * heads, 1, (from, to) -> {
                Scratch scratch = new Scratch();
                for (int row = from; row < to; row++) {
                    attend(scratch, row / heads, row % heads, q, out);
                }
            });
            return;
        }
        // Heads are independent from here on: each owns its rows of S and z.
        Parallel.rows(batch * heads, 1, (from, to) -> {
            Scratch scratch = new Scratch();
            for (int row = from; row < to; row++) {
                int b = row / heads;
                int h = row % heads;
                fold(scratch, b, h, fk, fv, foldWeights[b]);
                attend(scratch, b, h, q, out);
            }
        });
    }

    /** Adds phi_k(key) v^T and phi_k(key) of sequence b's kv head for query head h, weighted by w. */
    private void fold(Scratch scratch, int b, int h, float[] k, float[] v, float w) {
        if (w == 0) {
            return; // no key leaves the window yet, or a padding key: adds nothing
        }
        int offset = (b * kvHeads + h / group) * d;
        featureMap(scratch, kindK, weightK, biasK, h, k, offset);
        long row = (long) (b * heads + h) * width;
        for (int f = 0; f < width; f++) {
            float phi = scratch.features[f] * w;
            VectorOps.axpy(phi, v, offset, s, 4L * (row + f) * d, d);
            long at = 4L * (row + f);
            z.set(FLOAT, at, z.get(FLOAT, at) + phi);
        }
    }

    /** Head h of sequence b: linear part over S and z, plus the window's softmax part. */
    private void attend(Scratch scratch, int b, int h, float[] q, float[] out) {
        int qOffset = (b * heads + h) * d;
        featureMap(scratch, kindQ, weightQ, biasQ, h, q, qOffset);
        float[] numerator = scratch.numerator;
        java.util.Arrays.fill(numerator, 0f);
        float denominator = 0;
        long row = (long) (b * heads + h) * width;
        for (int f = 0; f < width; f++) {
            VectorOps.axpy(scratch.features[f], s, 4L * (row + f) * d, numerator, 0, d);
            denominator += scratch.features[f] * z.get(FLOAT, 4L * (row + f));
        }
        if (capacity > 0) {
            for (int i = 0; i < d; i++) {
                numerator[i] *= lambda[h];
            }
            denominator *= lambda[h];
            denominator += window(scratch, b, h / group, q, qOffset, gamma[h]);
        }
        for (int i = 0; i < d; i++) {
            out[qOffset + i] = numerator[i] / denominator;
        }
    }

    /**
     * Softmax over the valid buffer slots (and the sparse cache's valid slots, under one max),
     * weighted by gamma: adds sum_j a_j v_j to the numerator and returns sum_j a_j.
     */
    private float window(Scratch scratch, int b, int g, float[] q, int qOffset, float weight) {
        float[] scores = scratch.scores;
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
        if (sparse != null) {
            max = Math.max(max, sparse.scores(b, g, q, qOffset, scale, scratch.cacheScores));
        }
        VectorOps.expShifted(scores, 0, capacity, max);
        float sum = 0;
        for (int j = 0; j < capacity; j++) {
            float a = scores[j] * weight;
            if (a != 0) {
                VectorOps.axpy(a, values, 4L * (base + j) * d, scratch.numerator, 0, d);
                sum += a;
            }
        }
        if (sparse != null) {
            sum += sparse.accumulate(b, g, max, weight, scratch.cacheScores, scratch.numerator);
        }
        return sum;
    }

    /** features = phi(x) for head h, with x at {@code offset}: act(x W_h + b_h), clamped at 1e-12. */
    private void featureMap(Scratch scratch, FeatureMapKind kind, MemorySegment weight, float[] bias, int h, float[] x, int offset) {
        float[] u = scratch.u;
        float[] features = scratch.features;
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
