package dev.lolcats4j.lolcats;

import dev.lolcats4j.model.Heads;
import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * libtorch forms of the hybrid attention with a sparse cache (LoLA-style; docs/sparse-cache.md):
 * besides the sliding window and the linear state, at most C post-RoPE key-value pairs per key/value
 * head that the linear state recalls worst stay in softmax.
 *
 * <p>Prefill runs block by block (blocks of W tokens, aligned to the start). The keys of block c-1
 * leave the window during block c, one per query. Their self-recall errors and those of the cache
 * G_c are taken once, against the block's starting state S_c; query offset r then sees with softmax
 * the C pairs with the largest errors among G_c and the first r+1 keys of block c-1 (what evicting
 * one pair at a time gives with those errors), and linearly S_c plus the other pairs available to it.
 * Decoding ({@link HybridState}) evicts one pair per token with the errors taken against the same
 * block-start state, so both forms keep the same pairs. Only hybrid_sw attention has a cache.
 *
 * <p>Inputs are per query head for q ([B, H, N, d]) and per key/value head for k and v
 * ([B, Hkv, N, d]): cache decisions are made per key/value head, from the self-recall errors averaged
 * over the query heads that read it.
 */
final class SparseCacheKernels {

    private static final double MASKED = -1e30;

    private SparseCacheKernels() {}

    /**
     * The final decode state of a prefill: the cache (keys, values [B, Hkv, C, d], validity
     * [B, Hkv, C]) and the linear sums (S [B, H, Fw, d], z [B, H, Fw]) of every key older than the
     * last W positions.
     */
    record Memory(Tensor cacheKeys, Tensor cacheValues, Tensor cacheValid, Tensor s, Tensor z) {}

    /**
     * Output of a prefill and, when asked for, the state decoding continues from: the memory, and
     * S and z as they were at the start of the last block, which the rest of that block's errors
     * are measured against.
     */
    record Prefill(Tensor output, Memory memory, Tensor blockStartS, Tensor blockStartZ) {}

    /**
     * The block-wise prefill.
     *
     * @param keyValid [B, N] bool or null
     * @param wantMemory whether to return the state decoding continues from
     */
    static Prefill prefill(HybridParams p, int cacheSize, int group, Tensor q, Tensor k, Tensor v, Tensor keyValid,
            boolean wantMemory) {
        if (p.kind() != AttentionKind.HYBRID_SW) {
            throw new IllegalArgumentException("a sparse cache needs hybrid_sw attention, found " + p.kind());
        }
        long b = q.size(0);
        long h = q.size(1);
        long n = q.size(2);
        long d = q.size(3);
        long hkv = k.size(1);
        long w = p.window();
        long blocks = (n + w - 1) / w;
        long padded = blocks * w;
        var type = q.scalar_type();
        Tensor valid = keyValid == null ? Tensors.ones(type, b, n) : keyValid.to(type);
        if (padded > n) {
            q = padTokens(q, padded - n);
            k = padTokens(k, padded - n);
            v = padTokens(v, padded - n);
            valid = Tensors.cat(1, valid, Tensors.zeros(type, b, padded - n));
        }
        long fw = p.featureK().outputWidth();
        Memory memory = new Memory(Tensors.zeros(type, b, hkv, cacheSize, d), Tensors.zeros(type, b, hkv, cacheSize, d),
                Tensors.zeros(type, b, hkv, cacheSize), Tensors.zeros(type, b, h, fw, d), Tensors.zeros(type, b, h, fw));
        Tensor gamma = p.gamma().to(type).view(1, h, 1, 1);
        Tensor lambda = p.lambda().to(type).view(1, h, 1, 1);
        Tensor offsets = Tensors.arange(w).to(type);
        Tensor outOfWindow = offsets.view(1, w).le(offsets.view(w, 1)).to(type);  // [r, t]: 1 where t <= r
        Tensor inWindow = outOfWindow.neg().add(Tensors.scalar(1));
        // Query offset r can see the old cache and the previous block's offsets t <= r: [W, C + W].
        Tensor available = Tensors.cat(1, Tensors.ones(type, w, cacheSize), outOfWindow);
        Tensor[] outputs = new Tensor[(int) blocks];
        Memory blockStart = memory;
        org.bytedeco.javacpp.PointerScope outer = org.bytedeco.javacpp.PointerScope.getInnerScope();
        for (int c = 0; c < blocks; c++) {
            blockStart = memory;
            // Each block's temporaries are freed as soon as it is done; only its output and the
            // memory carried to the next block outlive it (as in HybridKernels.chunked).
            try (org.bytedeco.javacpp.PointerScope blockScope = new org.bytedeco.javacpp.PointerScope()) {
                Tensor qc = q.narrow(2, c * w, w);
                Tensor kc = k.narrow(2, c * w, w);
                Tensor vc = v.narrow(2, c * w, w);
                Tensor validC = valid.narrow(1, c * w, w);
                Tensor kPrev = c == 0 ? Tensors.zeros(type, b, hkv, w, d) : k.narrow(2, (c - 1) * w, w);
                Tensor vPrev = c == 0 ? Tensors.zeros(type, b, hkv, w, d) : v.narrow(2, (c - 1) * w, w);
                Tensor validPrev = c == 0 ? Tensors.zeros(type, b, w) : valid.narrow(1, (c - 1) * w, w);
                // Candidates: the cache and block c - 1, whose keys leave the window during block c.
                Tensor candidateKeys = Tensors.cat(2, memory.cacheKeys(), kPrev);
                Tensor candidateValues = Tensors.cat(2, memory.cacheValues(), vPrev);
                Tensor candidateValid = Tensors.cat(2, memory.cacheValid(), validPrev.view(b, 1, w).expand(new long[] {b, hkv, w}));
                Tensor[] split = visibility(p, group, memory, candidateKeys, candidateValues, candidateValid, available, cacheSize);
                Tensor cached = split[0];                                                // [B, Hkv, W, C + W]
                Tensor folded = split[1];
                Tensor keys = Heads.expand(Tensors.cat(2, candidateKeys, kPrev, kc), group);
                Tensor values = Heads.expand(Tensors.cat(2, candidateValues, vPrev, vc), group);
                Tensor prevMask = inWindow.view(1, 1, w, w).mul(validPrev.view(b, 1, 1, w)).expand(new long[] {b, hkv, w, w});
                Tensor ownMask = outOfWindow.view(1, 1, w, w).mul(validC.view(b, 1, 1, w)).expand(new long[] {b, hkv, w, w});
                Tensor mask = Heads.expand(Tensors.cat(3, cached, prevMask, ownMask), group);      // [B, H, W, C + 3W]
                Tensor scores = qc.matmul(keys.transpose(2, 3)).mul(Tensors.scalar(1.0 / Math.sqrt(d)));
                scores = scores.masked_fill(mask.eq(Tensors.scalar(0)), Tensors.scalar(MASKED));
                Tensor a = scores.sub(scores.amax(new long[] {-1}, true)).exp().mul(mask).mul(gamma);
                Tensor phiQ = p.featureQ().apply(qc);                                      // [B, H, W, Fw]
                Tensor phiCandidates = p.featureK().apply(Heads.expand(candidateKeys, group));
                Tensor linear = phiQ.matmul(phiCandidates.transpose(2, 3)).mul(Heads.expand(folded, group));
                Tensor numerator = a.matmul(values)
                        .add(phiQ.matmul(memory.s()).add(linear.matmul(Heads.expand(candidateValues, group))).mul(lambda));
                Tensor denominator = a.sum(new long[] {-1}, false, new ScalarTypeOptional())
                        .add(phiQ.matmul(memory.z().unsqueeze(-1)).squeeze(-1)
                                .add(linear.sum(new long[] {-1}, false, new ScalarTypeOptional())).mul(lambda.squeeze(-1)));
                // Padding queries see no key: a unit denominator keeps them (and gradients) finite.
                denominator = denominator.add(denominator.eq(Tensors.scalar(0)).to(type));
                outputs[c] = numerator.div(denominator.unsqueeze(-1));
                // Decoding continues after the last real token: its offset's cache and folds carry on.
                long last = c == blocks - 1 ? (n - 1) % w : w - 1;
                Memory next = carry(p, group, memory, candidateKeys, candidateValues, cached.select(2, last), folded.select(2, last));
                outputs[c] = Tensors.handOver(outputs[c], outer);
                memory = new Memory(Tensors.handOver(next.cacheKeys(), outer), Tensors.handOver(next.cacheValues(), outer),
                        Tensors.handOver(next.cacheValid(), outer), Tensors.handOver(next.s(), outer), Tensors.handOver(next.z(), outer));
            }
        }
        Tensor output = Tensors.cat(2, outputs).narrow(2, 0, n);
        return wantMemory ? new Prefill(output, memory, blockStart.s(), blockStart.z()) : new Prefill(output, null, null, null);
    }

    /**
     * Which candidates each query offset r of a block sees through the cache and which through the
     * linear part, {cached, folded}, each [B, Hkv, W, M]: among the candidates available at r, the C
     * with the largest self-recall error against the block's starting S and z are cached (ties to
     * the earlier candidate), the other valid ones are folded. This is what C-slot eviction one
     * pair at a time gives when the errors do not change within the block.
     */
    static Tensor[] visibility(HybridParams p, int group, Memory memory, Tensor keys, Tensor values, Tensor validity,
            Tensor available, int cacheSize) {
        var type = keys.scalar_type();
        long m = keys.size(2);
        Tensor error = recallError(p, group, keys, values, memory.s(), memory.z())
                .masked_fill(validity.eq(Tensors.scalar(0)), Tensors.scalar(Double.NEGATIVE_INFINITY));
        Tensor mine = error.unsqueeze(-1);                                           // [B, Hkv, M (x), 1]
        Tensor theirs = error.unsqueeze(-2);                                         // [B, Hkv, 1, M (y)]
        Tensor index = Tensors.arange(m);
        Tensor earlier = index.view(1, m).lt(index.view(m, 1));                      // [x, y]: y < x
        Tensor above = theirs.gt(mine).logical_or(theirs.eq(mine).logical_and(earlier)).to(type);
        // rank[r, x] = how many candidates available at r rank above x.
        Tensor rank = available.matmul(above.transpose(2, 3));
        Tensor present = available.mul(validity.unsqueeze(2));                       // [B, Hkv, W, M]
        Tensor cached = present.mul(rank.lt(Tensors.scalar(cacheSize)).to(type));
        return new Tensor[] {cached, present.sub(cached)};
    }

    /**
     * The memory after a block: the candidates cached at its last offset fill the C slots, and its
     * folded candidates join S and z.
     */
    private static Memory carry(HybridParams p, int group, Memory memory, Tensor keys, Tensor values, Tensor cached,
            Tensor folded) {
        int cacheSize = (int) memory.cacheKeys().size(2);
        Tensor slots = cached.topk(cacheSize, -1, true, true).get1();               // the cached ones first
        Tensor index = slots.unsqueeze(-1).expand(new long[] {slots.size(0), slots.size(1), cacheSize, keys.size(3)});
        Tensor[] sums = foldSums(p, group, keys, values, folded);
        return new Memory(keys.gather(2, index), values.gather(2, index), cached.gather(2, slots),
                memory.s().add(sums[0]), memory.z().add(sums[1]));
    }

    /**
     * One decode-time competition: the cache and new candidates ([B, Hkv, M, d], validity
     * [B, Hkv, M]) are ranked by self-recall error against {@code errorS} and {@code errorZ} (the
     * state at the start of the block); the C largest stay cached, the rest are folded into the
     * memory's S and z. Invalid candidates rank last and fold with weight zero.
     */
    static Memory compete(HybridParams p, int group, Memory memory, Tensor keys, Tensor values, Tensor validity,
            Tensor errorS, Tensor errorZ) {
        int cacheSize = (int) memory.cacheKeys().size(2);
        Tensor allKeys = Tensors.cat(2, memory.cacheKeys(), keys);
        Tensor allValues = Tensors.cat(2, memory.cacheValues(), values);
        Tensor allValid = Tensors.cat(2, memory.cacheValid(), validity);
        Tensor error = recallError(p, group, allKeys, allValues, errorS, errorZ)
                .masked_fill(allValid.eq(Tensors.scalar(0)), Tensors.scalar(Double.NEGATIVE_INFINITY));
        Tensor kept = error.topk(cacheSize, -1, true, true).get1();               // [B, Hkv, C], largest first
        Tensor keptMask = Tensors.zeros(allValid.scalar_type(), Tensors.shape(allValid)).scatter(-1, kept, Tensors.scalar(1));
        Tensor[] sums = foldSums(p, group, allKeys, allValues, allValid.mul(keptMask.neg().add(Tensors.scalar(1))));
        Tensor index = kept.unsqueeze(-1).expand(new long[] {kept.size(0), kept.size(1), cacheSize, allKeys.size(3)});
        return new Memory(allKeys.gather(2, index), allValues.gather(2, index), allValid.gather(2, kept),
                memory.s().add(sums[0]), memory.z().add(sums[1]));
    }

    /**
     * Self-recall error of each pair, averaged over the query heads of its key/value head:
     * mean_h || v - phi_k^h(k)^T S^h / (phi_k^h(k)^T z^h) ||^2, with a zero prediction while
     * phi^T z is zero (nothing folded yet). keys, values [B, Hkv, M, d]; returns [B, Hkv, M].
     */
    static Tensor recallError(HybridParams p, int group, Tensor keys, Tensor values, Tensor s, Tensor z) {
        long b = keys.size(0);
        long hkv = keys.size(1);
        long m = keys.size(2);
        Tensor phi = p.featureK().apply(Heads.expand(keys, group));             // [B, H, M, Fw]
        Tensor numerator = phi.matmul(s);                                       // [B, H, M, d]
        Tensor denominator = phi.matmul(z.unsqueeze(-1));                       // [B, H, M, 1]
        Tensor empty = denominator.eq(Tensors.scalar(0)).to(denominator.scalar_type());
        Tensor prediction = numerator.div(denominator.add(empty));
        Tensor error = Heads.expand(values, group).sub(prediction).square().sum(new long[] {-1}, false, new ScalarTypeOptional());
        return error.view(b, hkv, group, m).mean(new long[] {2}, false, new ScalarTypeOptional());
    }

    /**
     * sum_j w_j phi_k(k_j) v_j^T and sum_j w_j phi_k(k_j) per query head, for weights per key/value
     * head [B, Hkv, M]: {[B, H, Fw, d], [B, H, Fw]}.
     */
    static Tensor[] foldSums(HybridParams p, int group, Tensor keys, Tensor values, Tensor weights) {
        Tensor phi = p.featureK().apply(Heads.expand(keys, group))
                .mul(Heads.expand(weights.unsqueeze(-1), group));               // [B, H, M, Fw]
        return new Tensor[] {phi.transpose(2, 3).matmul(Heads.expand(values, group)),
            phi.sum(new long[] {2}, false, new ScalarTypeOptional())};
    }

    /** Pads [B, H, N, d] with zero tokens behind. */
    private static Tensor padTokens(Tensor x, long pad) {
        long[] shape = Tensors.shape(x);
        shape[2] = pad;
        return Tensors.cat(2, x, torch.zeros(shape, Tensors.options(x.scalar_type())));
    }
}
