package dev.lolcats4j.lolcats;

import dev.lolcats4j.kernels.TensorMemory;
import dev.lolcats4j.model.Attention;
import dev.lolcats4j.model.Heads;
import dev.lolcats4j.model.LayerCache;
import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Constant-size decode state of one hybrid layer: float32 S (Fw x d) and z (Fw) per head for
 * keys that have left the window, plus a ring buffer of the last {@code capacity} post-RoPE
 * keys and values (grouped-query heads, not expanded) with a validity flag per slot. With a
 * sparse cache of C pairs, keys leaving the window compete for the cache (per key/value head)
 * and only the losers are folded into S and z (docs/sparse-cache.md).
 */
public final class HybridState implements LayerCache {

    private final int capacity;
    private final int group;
    private final int cacheSize;
    Tensor cacheKeys;   // [B, Hkv, C, d] when cacheSize > 0
    Tensor cacheValues; // [B, Hkv, C, d]
    Tensor cacheValid;  // [B, Hkv, C] float (1 a real pair, 0 an empty slot)
    Tensor errorS;      // [B, H, Fw, d]: S and z at the start of the current block of W positions,
    Tensor errorZ;      // which self-recall errors are measured against
    /** Positions seen (padding included): blocks of W positions start where it is a multiple of W. */
    long position;
    /** Bumped by every libtorch step that changes the cache, so the Java step re-reads it. */
    long cacheVersion;
    Tensor s;        // [B, H, Fw, d]
    Tensor z;        // [B, H, Fw]
    Tensor keys;     // [B, Hkv, capacity, d]
    Tensor values;   // [B, Hkv, capacity, d]
    Tensor valid;    // [B, capacity] float32 (1 real key, 0 empty or padding)
    private long filled;
    private long next;
    private Tensor[] factors;          // {gamma, lambda} viewed [1, H, 1, 1], fixed while decoding
    private long validChecked = -1;
    private HybridDecodeStep decoder; // the Java step's per-generation constants
    private boolean validCheckedResult;

    HybridState(int capacity, int group) {
        this(capacity, group, 0);
    }

    HybridState(int capacity, int group, int cacheSize) {
        this.capacity = capacity;
        this.group = group;
        this.cacheSize = cacheSize;
    }

    int cacheSize() {
        return cacheSize;
    }

    boolean isEmpty() {
        return s == null;
    }

    /**
     * Initialises the state from a prefill's keys and values [B, Hkv, N, d]: the last
     * {@code capacity} keys go to the buffer, every earlier one into S and z.
     */
    void prefill(HybridParams p, Tensor k, Tensor v, Tensor keyValid) {
        prefill(p, k, v, keyValid, null);
    }

    /**
     * As {@link #prefill(HybridParams, Tensor, Tensor, Tensor)}, but with a sparse cache the keys
     * older than the window are not folded here: S, z, the cache and the block-start state come
     * from the block-wise prefill.
     */
    void prefill(HybridParams p, Tensor k, Tensor v, Tensor keyValid, SparseCacheKernels.Prefill sparse) {
        SparseCacheKernels.Memory memory = sparse == null ? null : sparse.memory();
        long b = k.size(0);
        long hkv = k.size(1);
        long n = k.size(2);
        long d = k.size(3);
        long h = hkv * group;
        long fw = p.featureK().outputWidth();
        // The state is float32 in normal use; it follows k's type so tests can run in float64.
        org.bytedeco.pytorch.global.torch.ScalarType type = k.scalar_type();
        Tensor validF = keyValid == null ? Tensors.ones(type, b, n) : keyValid.to(type);
        s = Tensors.keep(Tensors.zeros(type, b, h, fw, d));
        z = Tensors.keep(Tensors.zeros(type, b, h, fw));
        keys = Tensors.keep(Tensors.zeros(type, b, hkv, Math.max(capacity, 1), d));
        values = Tensors.keep(Tensors.zeros(type, b, hkv, Math.max(capacity, 1), d));
        valid = Tensors.keep(Tensors.zeros(type, b, Math.max(capacity, 1)));
        long folded = Math.max(0, n - capacity);
        if (memory != null) {
            s.copy_(memory.s());
            z.copy_(memory.z());
            cacheKeys = Tensors.keep(memory.cacheKeys().clone());
            cacheValues = Tensors.keep(memory.cacheValues().clone());
            cacheValid = Tensors.keep(memory.cacheValid().clone());
            errorS = Tensors.keep(sparse.blockStartS().clone());
            errorZ = Tensors.keep(sparse.blockStartZ().clone());
            cacheVersion++;
        } else if (folded > 0) {
            fold(p, k.narrow(2, 0, folded), v.narrow(2, 0, folded), validF.narrow(1, 0, folded));
        }
        refillWindow(k, v, validF, folded);
        position = n;
        decoder = null; // new buffers
    }

    /**
     * Continues a prefilled state with a chunk of several tokens at once, in the block-wise
     * parallel form: q [B, H, M, d], k and v [B, Hkv, M, d] (after RoPE), no padding in the
     * chunk. The window's keys lead the chunk as context (their outputs are dropped) and S, z
     * enter as the sums of every older key, so the outputs equal a prefill of everything at once
     * up to float rounding. Afterwards the state is as if the chunk had been stepped token by
     * token: this is what lets a server prefill a long prompt a piece at a time between decode
     * steps, with memory bounded by the piece.
     *
     * @return y [B, H, M, d], or null (nothing changed) where this form does not apply: a sparse
     *     cache (decisions per token) or the terrace (blocks aligned to the sequence end)
     */
    Tensor continueWith(HybridParams p, Tensor q, Tensor k, Tensor v) {
        if (s == null || cacheSize > 0 || p.kind() == AttentionKind.HYBRID_TK) {
            return null;
        }
        long b = q.size(0);
        long m = q.size(2);
        org.bytedeco.pytorch.global.torch.ScalarType type = s.scalar_type();
        Tensor ringK;
        Tensor ringV;
        Tensor ringValid;
        if (filled > 0) {
            // The ring's keys oldest first: slots next - filled .. next - 1 (mod capacity).
            long[] order = new long[(int) filled];
            for (int i = 0; i < filled; i++) {
                order[i] = Math.floorMod(next - filled + i, capacity);
            }
            Tensor index = Tensors.ofLongs(order, filled);
            ringK = keys.index_select(2, index);
            ringV = values.index_select(2, index);
            ringValid = valid.index_select(1, index);
        } else {
            ringK = k.narrow(2, 0, 0);
            ringV = v.narrow(2, 0, 0);
            ringValid = Tensors.zeros(type, b, 0);
        }
        Tensor allK = Tensors.cat(2, ringK, k.to(type));
        Tensor allV = Tensors.cat(2, ringV, v.to(type));
        Tensor allValid = Tensors.cat(1, ringValid, Tensors.ones(type, b, m));
        Tensor allQ = Tensors.cat(2, Tensors.zeros(type, b, q.size(1), filled, q.size(3)), q.to(type));
        Tensor sums = Tensors.cat(3, s, z.unsqueeze(-1));
        Tensor y = HybridKernels.chunked(p, allQ, Heads.expand(allK, group), Heads.expand(allV, group),
                allValid.gt(Tensors.scalar(0.5)), sums).narrow(2, filled, m);
        // The new state: everything but the last `capacity` keys folds into S and z.
        long total = filled + m;
        long folded = Math.max(0, total - capacity);
        if (folded > 0) {
            fold(p, allK.narrow(2, 0, folded), allV.narrow(2, 0, folded), allValid.narrow(1, 0, folded));
        }
        refillWindow(allK, allV, allValid, folded);
        position += m;
        decoder = null; // buffers rewritten: the Java step re-reads them
        validChecked = -1;
        return y;
    }

    /**
     * Puts the keys after the first {@code folded} of k, v [B, Hkv, N, d] (validity [B, N]) into
     * the window buffer, oldest first from slot 0; at most {@code capacity} remain by then.
     */
    private void refillWindow(Tensor k, Tensor v, Tensor validF, long folded) {
        long kept = k.size(2) - folded;
        if (kept > 0) {
            keys.narrow(2, 0, kept).copy_(k.narrow(2, folded, kept));
            values.narrow(2, 0, kept).copy_(v.narrow(2, folded, kept));
            valid.narrow(1, 0, kept).copy_(validF.narrow(1, folded, kept));
        }
        filled = kept;
        next = kept % Math.max(capacity, 1);
    }

    /** Adds keys [B, Hkv, M, d] to S and z through phi_k, weighted by validity [B, M]. */
    private void fold(HybridParams p, Tensor k, Tensor v, Tensor validF) {
        Tensor phi = p.featureK().apply(Heads.expand(k, group)).mul(validF.unsqueeze(1).unsqueeze(-1)); // [B,H,M,Fw]
        s.add_(phi.transpose(2, 3).matmul(Heads.expand(v, group)));
        z.add_(phi.sum(new long[] {2}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
    }

    /**
     * The pair leaving the window ([B, Hkv, 1, d], validity [B, 1]) competes with the cache: the
     * pair with the smallest self-recall error is folded into S and z, the others stay cached.
     */
    private void compete(HybridParams p, Tensor k, Tensor v, Tensor leavingValid) {
        long b = k.size(0);
        long hkv = k.size(1);
        SparseCacheKernels.Memory after = SparseCacheKernels.compete(p, group,
                new SparseCacheKernels.Memory(cacheKeys, cacheValues, cacheValid, s, z), k, v,
                leavingValid.view(b, 1, 1).expand(new long[] {b, hkv, 1}), errorS, errorZ);
        cacheKeys.copy_(after.cacheKeys());
        cacheValues.copy_(after.cacheValues());
        cacheValid.copy_(after.cacheValid());
        s.copy_(after.s());
        z.copy_(after.z());
        cacheVersion++;
    }

    /**
     * One decode step for a single new token per sequence: q [B, H, 1, d], k and v
     * [B, Hkv, 1, d]. Returns y [B, H, 1, d].
     */
    Tensor step(HybridParams p, Tensor q, Tensor k, Tensor v) {
        long b = q.size(0);
        if (cacheSize > 0 && position % capacity == 0) {
            errorS.copy_(s); // a new block: errors are measured against the state as it is now
            errorZ.copy_(z);
            cacheVersion++;
        }
        position++;
        if (capacity == 0) {
            fold(p, k, v, Tensors.ones(q.scalar_type(), b, 1));
        } else {
            if (filled == capacity && cacheSize > 0) {
                compete(p, keys.narrow(2, next, 1), values.narrow(2, next, 1), valid.narrow(1, next, 1));
            } else if (filled == capacity) {
                fold(p, keys.narrow(2, next, 1), values.narrow(2, next, 1), valid.narrow(1, next, 1));
            } else {
                filled++;
            }
            keys.narrow(2, next, 1).copy_(k);
            values.narrow(2, next, 1).copy_(v);
            valid.narrow(1, next, 1).fill_(Tensors.scalar(1));
            next = (next + 1) % capacity;
        }
        if (factors == null) {
            // The window factors are fixed while decoding: compute gamma and lambda once.
            factors = new Tensor[] {Tensors.keep(p.gamma().view(1, -1, 1, 1)), Tensors.keep(p.lambda().view(1, -1, 1, 1))};
        }
        Tensor phiQ = p.featureQ().apply(q);                                   // [B, H, 1, Fw]
        Tensor numerator = phiQ.matmul(s);                                     // [B, H, 1, d]
        Tensor denominator = phiQ.matmul(z.unsqueeze(-1));                     // [B, H, 1, 1]
        if (capacity == 0) {
            return numerator.div(denominator);
        }
        numerator = numerator.mul(factors[1]);
        denominator = denominator.mul(factors[1]);
        // Grouped-query window attention without copying the buffer up to H heads: query heads
        // of one group form the rows of a [g, W] score matrix against their shared keys.
        long hkv = keys.size(1);
        long d = q.size(3);
        Tensor grouped = q.view(b, hkv, group, d).mul(Tensors.scalar(1.0 / Math.sqrt(d)));
        Tensor softmaxKeys = keys;
        Tensor softmaxValues = values;
        Tensor mask = valid.view(b, 1, 1, capacity);
        boolean masked = filled < capacity || !allValid();
        if (cacheSize > 0) {
            // The cache joins the window's softmax: one max, one gamma.
            softmaxKeys = Tensors.cat(2, keys, cacheKeys);
            softmaxValues = Tensors.cat(2, values, cacheValues);
            mask = Tensors.cat(3, mask.expand(new long[] {b, hkv, 1, capacity}), cacheValid.view(b, hkv, 1, cacheSize));
            masked = true;
        }
        Tensor scores = grouped.matmul(softmaxKeys.transpose(2, 3));           // [B, Hkv, g, W (+ C)]
        if (masked) {
            scores = scores.masked_fill(mask.eq(Tensors.scalar(0)), Tensors.scalar(-1e30));
        }
        Tensor a = scores.sub(scores.amax(new long[] {-1}, true)).exp().mul(mask)
                .mul(factors[0].view(1, hkv, group, 1));
        numerator = numerator.add(a.matmul(softmaxValues).view(b, hkv * group, 1, d));
        denominator = denominator.add(a.sum(new long[] {-1}, true, new org.bytedeco.pytorch.ScalarTypeOptional())
                .view(b, hkv * group, 1, 1));
        return numerator.div(denominator);
    }

    /**
     * {@link #step} on float arrays, reading and updating the state's buffers in place with
     * the Vector API kernels: q [B, H, d], k and v [B, Hkv, d], out [B, H, d]. The same
     * arithmetic as {@link #step}, in float32 (sums may add up in another order).
     *
     * @return false (nothing changed) when the state is not prefilled yet or not float32
     */
    boolean decodeStep(HybridParams p, Attention.DecodeShape shape, float[] q, float[] k, float[] v, float[] out) {
        if (decoder == null) {
            if (s == null || !TensorMemory.isFloats(s) || !TensorMemory.isFloats(z) || !TensorMemory.isFloats(keys)
                    || !TensorMemory.isFloats(values) || !TensorMemory.isFloats(valid)
                    || !TensorMemory.isFloats(p.featureQ().weight()) || !TensorMemory.isFloats(p.featureK().weight())
                    || p.featureQ().featureDim() != p.featureK().featureDim()
                    || cacheSize > 0 && (!TensorMemory.isFloats(cacheKeys) || !TensorMemory.isFloats(cacheValues)
                            || !TensorMemory.isFloats(cacheValid) || !TensorMemory.isFloats(errorS))) {
                return false; // not prefilled yet, or float64 (tests), or an unusual layout
            }
            decoder = new HybridDecodeStep(this, p, shape, capacity, group);
        }
        boolean blockStart = cacheSize > 0 && position % capacity == 0;
        position++;
        if (capacity == 0) {
            decoder.step(q, k, v, out, shape.batch(), 0, false, false);
        } else {
            boolean full = filled == capacity;
            decoder.step(q, k, v, out, shape.batch(), (int) next, full, blockStart);
            if (!full) {
                filled++;
            }
            next = (next + 1) % capacity;
        }
        validChecked = -1; // the libtorch step re-reads the flags if it runs next
        return true;
    }

    /** True when no buffer slot holds padding (checked once per fill of the buffer). */
    private boolean allValid() {
        if (validChecked != filled) {
            validCheckedResult = valid.min().item_double() > 0;
            validChecked = filled;
        }
        return validCheckedResult;
    }

    @Override
    public long bytes() {
        if (s == null) {
            return 0;
        }
        long cache = cacheKeys == null ? 0
                : cacheKeys.numel() + cacheValues.numel() + cacheValid.numel() + errorS.numel() + errorZ.numel();
        return (s.numel() + z.numel() + keys.numel() + values.numel() + valid.numel() + cache) * 4;
    }

}
