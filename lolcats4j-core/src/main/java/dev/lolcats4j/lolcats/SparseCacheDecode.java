package dev.lolcats4j.lolcats;

import dev.lolcats4j.kernels.Parallel;
import dev.lolcats4j.kernels.TensorMemory;
import dev.lolcats4j.kernels.VectorOps;
import dev.lolcats4j.model.Attention;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The sparse cache's part of the Java decode step ({@link HybridDecodeStep}): the pair leaving the
 * window competes with the cached pairs, per key/value head, by self-recall error against S and z;
 * the loser is folded into S and z. Same rule as {@link HybridState}'s libtorch step
 * (docs/sparse-cache.md).
 *
 * <p>The libtorch step recomputes every cached pair's error from S each token. Here each cached
 * pair keeps, per query head, phi_k(k), phi_k(k)^T S and phi_k(k)^T z; folding a pair with
 * features phi_L and value v_L changes them by (phi . phi_L) v_L and (phi . phi_L), so a step
 * costs O(C (Fw + d)) per head instead of O(C Fw d). The two agree to float32 rounding.
 */
final class SparseCacheDecode {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int NONE = -1;

    private final HybridDecodeStep owner;
    private final HybridState state;
    private final int cacheSize;
    private final int heads;
    private final int kvHeads;
    private final int group;
    private final int d;
    private final int width;
    private final int batch;
    private final MemorySegment cacheKeys;   // [B, Hkv, C, d]
    private final MemorySegment cacheValues; // [B, Hkv, C, d]
    private final MemorySegment cacheValid;  // [B, Hkv, C]
    // Per (b, h, slot): phi_k of the cached key, phi^T S, phi^T z and the recall error.
    private final float[] features;
    private final float[] recalled;
    private final float[] normalizer;
    private final float[] error;
    // Per (b, h): the same for the pair leaving the window this step.
    private final float[] leavingFeatures;
    private final float[] leavingRecalled;
    private final float[] leavingNormalizer;
    private final float[] leavingError;
    // Per (b, g): this step's decision.
    private final int[] foldSlot;     // a cache slot, cacheSize for the leaving pair, NONE
    private final int[] insertSlot;   // where the leaving pair goes, or NONE
    private final float[] foldValue;  // [B, Hkv, d], the folded pair's value
    private long syncedVersion = Long.MIN_VALUE;

    SparseCacheDecode(HybridDecodeStep owner, HybridState state, Attention.DecodeShape shape, int group) {
        this.owner = owner;
        this.state = state;
        this.cacheSize = state.cacheSize();
        this.heads = shape.heads();
        this.kvHeads = shape.kvHeads();
        this.group = group;
        this.d = shape.headDim();
        this.width = owner.width();
        this.batch = shape.batch();
        this.cacheKeys = TensorMemory.floats(state.cacheKeys);
        this.cacheValues = TensorMemory.floats(state.cacheValues);
        this.cacheValid = TensorMemory.floats(state.cacheValid);
        int slots = batch * heads * cacheSize;
        this.features = new float[slots * width];
        this.recalled = new float[slots * d];
        this.normalizer = new float[slots];
        this.error = new float[slots];
        this.leavingFeatures = new float[batch * heads * width];
        this.leavingRecalled = new float[batch * heads * d];
        this.leavingNormalizer = new float[batch * heads];
        this.leavingError = new float[batch * heads];
        this.foldSlot = new int[batch * kvHeads];
        this.insertSlot = new int[batch * kvHeads];
        this.foldValue = new float[batch * kvHeads * d];
    }

    int cacheSize() {
        return cacheSize;
    }

    /**
     * The leaving pairs (keys and values [B, Hkv, d], weights [B]: 0 when no pair leaves or it is
     * padding) compete for the cache; the losers are folded into S and z.
     */
    void step(float[] leavingKeys, float[] leavingValues, float[] leavingWeights, int rows) {
        if (state.cacheVersion != syncedVersion) {
            sync(); // first step, or the libtorch step changed the cache
        }
        boolean any = false;
        for (int b = 0; b < rows; b++) {
            any |= leavingWeights[b] != 0;
        }
        if (!any) {
            return;
        }
        Parallel.rows(rows * heads, 1, (from, to) -> {
            HybridDecodeStep.Scratch scratch = owner.newScratch();
            for (int row = from; row < to; row++) {
                if (leavingWeights[row / heads] != 0) {
                    int g = row % heads / group;
                    int offset = (row / heads * kvHeads + g) * d;
                    recall(scratch, row, row % heads, leavingKeys, offset, leavingValues, leavingFeatures, row * width,
                            leavingRecalled, row * d, leavingNormalizer, leavingError, row);
                }
            }
        });
        for (int b = 0; b < rows; b++) {
            for (int g = 0; g < kvHeads; g++) {
                decide(b, g, leavingWeights[b] != 0, leavingKeys, leavingValues);
            }
        }
        Parallel.rows(rows * heads, 1, (from, to) -> {
            float[] folded = new float[width];
            for (int row = from; row < to; row++) {
                apply(row, leavingValues, folded);
            }
        });
        syncedVersion = state.cacheVersion;
    }

    /** The cache's softmax scores for query head rows of (b, g) into {@code out}; returns their max. */
    float scores(int b, int g, float[] q, int qOffset, float scale, float[] out) {
        float max = Float.NEGATIVE_INFINITY;
        long base = (long) (b * kvHeads + g) * cacheSize;
        for (int slot = 0; slot < cacheSize; slot++) {
            if (cacheValid.get(FLOAT, 4L * (base + slot)) == 0) {
                out[slot] = Float.NEGATIVE_INFINITY;
                continue;
            }
            out[slot] = VectorOps.dot(cacheKeys, 4L * (base + slot) * d, q, qOffset, d) * scale;
            max = Math.max(max, out[slot]);
        }
        return max;
    }

    /** Adds gamma e^(s - max) v over the cache to {@code numerator}; returns the weights' sum. */
    float accumulate(int b, int g, float max, float gamma, float[] scores, float[] numerator) {
        VectorOps.expShifted(scores, 0, cacheSize, max);
        long base = (long) (b * kvHeads + g) * cacheSize;
        float sum = 0;
        for (int slot = 0; slot < cacheSize; slot++) {
            float a = scores[slot] * gamma;
            if (a != 0) {
                VectorOps.axpy(a, cacheValues, 4L * (base + slot) * d, numerator, 0, d);
                sum += a;
            }
        }
        return sum;
    }

    /** Recomputes every cached pair's features, recall and error from the cache and S, z. */
    private void sync() {
        HybridDecodeStep.Scratch scratch = owner.newScratch();
        float[] key = new float[d];
        float[] value = new float[d];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int g = h / group;
                long base = (long) (b * kvHeads + g) * cacheSize;
                for (int slot = 0; slot < cacheSize; slot++) {
                    if (cacheValid.get(FLOAT, 4L * (base + slot)) == 0) {
                        continue;
                    }
                    MemorySegment.copy(cacheKeys, FLOAT, 4L * (base + slot) * d, key, 0, d);
                    MemorySegment.copy(cacheValues, FLOAT, 4L * (base + slot) * d, value, 0, d);
                    int at = (b * heads + h) * cacheSize + slot;
                    recall(scratch, b * heads + h, h, key, 0, value, features, at * width, recalled, at * d, normalizer,
                            error, at);
                }
            }
        }
        syncedVersion = state.cacheVersion;
    }

    /**
     * For the pair (key at {@code keyOffset}, value at the same offset of {@code values}) and query
     * head h of row {@code row}: phi_k(k), phi^T S, phi^T z and the recall error, into the arrays
     * given.
     */
    private void recall(HybridDecodeStep.Scratch scratch, int row, int h, float[] keys, int keyOffset, float[] values,
            float[] phiOut, int phiAt, float[] recallOut, int recallAt, float[] normalizerOut, float[] errorOut, int at) {
        float[] phi = owner.keyFeatures(scratch, h, keys, keyOffset);
        System.arraycopy(phi, 0, phiOut, phiAt, width);
        Arrays.fill(recallOut, recallAt, recallAt + d, 0f);
        float den = 0;
        long sRow = (long) row * width;
        for (int f = 0; f < width; f++) {
            VectorOps.axpy(phi[f], owner.s(), 4L * (sRow + f) * d, recallOut, recallAt, d);
            den += phi[f] * owner.z().get(FLOAT, 4L * (sRow + f));
        }
        normalizerOut[at] = den;
        errorOut[at] = recallError(values, keyOffset, recallOut, recallAt, den);
    }

    /** ||v - recall / den||^2, with a zero prediction while den is zero (nothing folded yet). */
    private float recallError(float[] values, int valueOffset, float[] recall, int recallAt, float den) {
        float total = 0;
        for (int i = 0; i < d; i++) {
            float prediction = den == 0 ? 0 : recall[recallAt + i] / den;
            float diff = values[valueOffset + i] - prediction;
            total += diff * diff;
        }
        return total;
    }

    /**
     * Key/value head g of sequence b: a free slot takes the leaving pair; else the pair with the
     * smallest error averaged over the group's query heads (the leaving one included) is folded
     * and the leaving pair takes its slot. Writes the cache's keys, values and flags.
     */
    private void decide(int b, int g, boolean leaving, float[] leavingKeys, float[] leavingValues) {
        int bg = b * kvHeads + g;
        foldSlot[bg] = NONE;
        insertSlot[bg] = NONE;
        if (!leaving) {
            return;
        }
        long base = (long) bg * cacheSize;
        int free = NONE;
        for (int slot = 0; slot < cacheSize && free == NONE; slot++) {
            if (cacheValid.get(FLOAT, 4L * (base + slot)) == 0) {
                free = slot;
            }
        }
        if (free == NONE) {
            int loser = cacheSize;                       // the leaving pair
            float lowest = meanError(leavingError, b, g, 0, 1);
            for (int slot = 0; slot < cacheSize; slot++) {
                float e = meanError(error, b, g, slot, cacheSize);
                if (e < lowest) {
                    lowest = e;
                    loser = slot;
                }
            }
            foldSlot[bg] = loser;
            if (loser == cacheSize) {
                return;
            }
            MemorySegment.copy(cacheValues, FLOAT, 4L * (base + loser) * d, foldValue, bg * d, d);
            free = loser;
        }
        insertSlot[bg] = free;
        MemorySegment.copy(leavingKeys, bg * d, cacheKeys, FLOAT, 4L * (base + free) * d, d);
        MemorySegment.copy(leavingValues, bg * d, cacheValues, FLOAT, 4L * (base + free) * d, d);
        cacheValid.set(FLOAT, 4L * (base + free), 1f);
    }

    /** Mean over the query heads of (b, g) of errors laid out [B, H, stride] at {@code slot}. */
    private float meanError(float[] errors, int b, int g, int slot, int stride) {
        float total = 0;
        for (int h = g * group; h < (g + 1) * group; h++) {
            total += errors[(b * heads + h) * stride + slot];
        }
        return total / group;
    }

    /**
     * Query head row: folds this step's loser into S and z, updates the other cached pairs'
     * recall by the rank-one change, and moves the leaving pair's numbers into its slot.
     */
    private void apply(int row, float[] leavingValues, float[] folded) {
        int b = row / heads;
        int h = row % heads;
        int bg = b * kvHeads + h / group;
        int fold = foldSlot[bg];
        int insert = insertSlot[bg];
        if (fold != NONE) {
            float[] value = fold == cacheSize ? leavingValues : foldValue;
            int valueAt = bg * d;
            if (fold == cacheSize) {
                System.arraycopy(leavingFeatures, row * width, folded, 0, width);
            } else {
                System.arraycopy(features, (row * cacheSize + fold) * width, folded, 0, width);
            }
            long sRow = (long) row * width;
            for (int f = 0; f < width; f++) {
                VectorOps.axpy(folded[f], value, valueAt, owner.s(), 4L * (sRow + f) * d, d);
                long at = 4L * (sRow + f);
                owner.z().set(FLOAT, at, owner.z().get(FLOAT, at) + folded[f]);
            }
            long base = (long) bg * cacheSize;
            for (int slot = 0; slot < cacheSize; slot++) {
                if (slot == insert || cacheValid.get(FLOAT, 4L * (base + slot)) == 0) {
                    continue;
                }
                int at = row * cacheSize + slot;
                float dot = VectorOps.dot(features, at * width, folded, 0, width);
                VectorOps.axpy(dot, value, valueAt, recalled, at * d, d);
                normalizer[at] += dot;
                error[at] = slotError(base + slot, at);
            }
            if (insert != NONE) {
                float dot = VectorOps.dot(leavingFeatures, row * width, folded, 0, width);
                VectorOps.axpy(dot, value, valueAt, leavingRecalled, row * d, d);
                leavingNormalizer[row] += dot;
                leavingError[row] = recallError(leavingValues, bg * d, leavingRecalled, row * d, leavingNormalizer[row]);
            }
        }
        if (insert != NONE) {
            int at = row * cacheSize + insert;
            System.arraycopy(leavingFeatures, row * width, features, at * width, width);
            System.arraycopy(leavingRecalled, row * d, recalled, at * d, d);
            normalizer[at] = leavingNormalizer[row];
            error[at] = leavingError[row];
        }
    }

    /** The error of the cached value at {@code cacheAt} from its current recall. */
    private float slotError(long cacheAt, int at) {
        float total = 0;
        float den = normalizer[at];
        for (int i = 0; i < d; i++) {
            float prediction = den == 0 ? 0 : recalled[at * d + i] / den;
            float diff = cacheValues.get(FLOAT, 4L * (cacheAt * d + i)) - prediction;
            total += diff * diff;
        }
        return total;
    }
}
