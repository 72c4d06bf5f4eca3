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
 * window competes with the cached pairs, per key/value head, by self-recall error; the loser is
 * folded into S and z. Same rule as {@link HybridState}'s libtorch step (docs/sparse-cache.md).
 *
 * <p>Errors are measured against the state at the start of the current block of W positions, so
 * a cached pair's error only changes when a block starts: it is kept here per (sequence, query
 * head, slot) and recomputed for every slot then, or after a libtorch step changed the cache.
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
    private final MemorySegment errorS;      // [B, H, Fw, d], the block-start state
    private final MemorySegment errorZ;      // [B, H, Fw]
    private final float[] error;             // [B, H, C]: each cached pair's error
    private final float[] leavingError;      // [B, H]: the leaving pair's
    private final int[] foldSlot;            // [B, Hkv]: a cache slot, cacheSize for the leaving pair, NONE
    private final int[] insertSlot;          // [B, Hkv]: where the leaving pair goes, or NONE
    private final float[] foldKey;           // [B, Hkv, d]: the folded pair
    private final float[] foldValue;
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
        this.errorS = TensorMemory.floats(state.errorS);
        this.errorZ = TensorMemory.floats(state.errorZ);
        this.error = new float[batch * heads * cacheSize];
        this.leavingError = new float[batch * heads];
        this.foldSlot = new int[batch * kvHeads];
        this.insertSlot = new int[batch * kvHeads];
        this.foldKey = new float[batch * kvHeads * d];
        this.foldValue = new float[batch * kvHeads * d];
    }

    int cacheSize() {
        return cacheSize;
    }

    /**
     * The leaving pairs (keys and values [B, Hkv, d], weights [B]: 0 when no pair leaves or it is
     * padding) compete for the cache; the losers are folded into S and z. At a block start the
     * error state first becomes a copy of S and z.
     */
    void step(float[] leavingKeys, float[] leavingValues, float[] leavingWeights, int rows, boolean blockStart) {
        if (blockStart) {
            MemorySegment.copy(owner.s(), 0, errorS, 0, errorS.byteSize());
            MemorySegment.copy(owner.z(), 0, errorZ, 0, errorZ.byteSize());
            sync();
        } else if (state.cacheVersion != syncedVersion) {
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
                    int offset = (row / heads * kvHeads + row % heads / group) * d;
                    leavingError[row] = error(scratch, row, leavingKeys, leavingValues, offset);
                }
            }
        });
        for (int b = 0; b < rows; b++) {
            for (int g = 0; g < kvHeads; g++) {
                decide(b, g, leavingWeights[b] != 0, leavingKeys, leavingValues);
            }
        }
        Parallel.rows(rows * heads, 1, (from, to) -> {
            HybridDecodeStep.Scratch scratch = owner.newScratch();
            for (int row = from; row < to; row++) {
                apply(scratch, row, leavingKeys, leavingValues);
            }
        });
    }

    /** The cache's softmax scores for a query of (b, g) into {@code out}; returns their max. */
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

    /** Recomputes every cached pair's error against the block-start state. */
    private void sync() {
        Parallel.rows(batch * heads, 1, (from, to) -> {
            HybridDecodeStep.Scratch scratch = owner.newScratch();
            float[] key = new float[d];
            float[] value = new float[d];
            for (int row = from; row < to; row++) {
                long base = (long) (row / heads * kvHeads + row % heads / group) * cacheSize;
                for (int slot = 0; slot < cacheSize; slot++) {
                    if (cacheValid.get(FLOAT, 4L * (base + slot)) != 0) {
                        MemorySegment.copy(cacheKeys, FLOAT, 4L * (base + slot) * d, key, 0, d);
                        MemorySegment.copy(cacheValues, FLOAT, 4L * (base + slot) * d, value, 0, d);
                        error[row * cacheSize + slot] = error(scratch, row, key, value, 0);
                    }
                }
            }
        });
        syncedVersion = state.cacheVersion;
    }

    /**
     * ||v - phi^T S' / (phi^T z')||^2 for query head row {@code row} (b H + h), phi = phi_k^h(k) and
     * S', z' the block-start state; a zero prediction while phi^T z' is zero (nothing folded yet).
     */
    private float error(HybridDecodeStep.Scratch scratch, int row, float[] keys, float[] values, int offset) {
        float[] phi = owner.keyFeatures(scratch, row % heads, keys, offset);
        float[] recalled = scratch.numerator;
        Arrays.fill(recalled, 0f);
        float den = 0;
        long sRow = (long) row * width;
        for (int f = 0; f < width; f++) {
            VectorOps.axpy(phi[f], errorS, 4L * (sRow + f) * d, recalled, 0, d);
            den += phi[f] * errorZ.get(FLOAT, 4L * (sRow + f));
        }
        float total = 0;
        for (int i = 0; i < d; i++) {
            float diff = values[offset + i] - (den == 0 ? 0 : recalled[i] / den);
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
            MemorySegment.copy(cacheKeys, FLOAT, 4L * (base + loser) * d, foldKey, bg * d, d);
            MemorySegment.copy(cacheValues, FLOAT, 4L * (base + loser) * d, foldValue, bg * d, d);
            free = loser;
        }
        insertSlot[bg] = free;
        MemorySegment.copy(leavingKeys, bg * d, cacheKeys, FLOAT, 4L * (base + free) * d, d);
        MemorySegment.copy(leavingValues, bg * d, cacheValues, FLOAT, 4L * (base + free) * d, d);
        cacheValid.set(FLOAT, 4L * (base + free), 1f);
    }

    /** Mean over the query heads of (b, g) of errors laid out [B, H, stride], at {@code slot}. */
    private float meanError(float[] errors, int b, int g, int slot, int stride) {
        float total = 0;
        for (int h = g * group; h < (g + 1) * group; h++) {
            total += errors[(b * heads + h) * stride + slot];
        }
        return total / group;
    }

    /** Query head row: folds this step's loser into S and z and records the newcomer's error. */
    private void apply(HybridDecodeStep.Scratch scratch, int row, float[] leavingKeys, float[] leavingValues) {
        int bg = row / heads * kvHeads + row % heads / group;
        int fold = foldSlot[bg];
        if (fold != NONE) {
            boolean leaving = fold == cacheSize;
            float[] phi = owner.keyFeatures(scratch, row % heads, leaving ? leavingKeys : foldKey, bg * d);
            float[] value = leaving ? leavingValues : foldValue;
            long sRow = (long) row * width;
            for (int f = 0; f < width; f++) {
                VectorOps.axpy(phi[f], value, bg * d, owner.s(), 4L * (sRow + f) * d, d);
                long at = 4L * (sRow + f);
                owner.z().set(FLOAT, at, owner.z().get(FLOAT, at) + phi[f]);
            }
        }
        if (insertSlot[bg] != NONE) {
            error[row * cacheSize + insertSlot[bg]] = leavingError[row];
        }
    }
}
