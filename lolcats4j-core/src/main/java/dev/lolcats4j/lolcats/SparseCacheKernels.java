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
 * <p>Prefill runs block by block (blocks of W tokens, aligned to the start). Queries of block c
 * attend with softmax to the cache G_c, to every key of block c-1 and causally to their own block,
 * and linearly to the state S_c. After block c, the cache and the keys of block c-1 (all out of
 * every later window) compete: the C with the largest self-recall error against S_c stay, the rest
 * are folded into S. Only hybrid_sw attention has a cache.
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

    /** Output of a prefill and, when asked for, the state decoding continues from. */
    record Prefill(Tensor output, Memory memory) {}

    /**
     * The block-wise prefill.
     *
     * @param keyValid [B, N] bool or null
     * @param wantMemory whether to build the decode state (costs one more competition)
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
        Tensor causal = Tensors.ones(type, w, w).tril(0);
        Tensor[] outputs = new Tensor[(int) blocks];
        for (int c = 0; c < blocks; c++) {
            Tensor qc = q.narrow(2, c * w, w);
            Tensor kc = k.narrow(2, c * w, w);
            Tensor vc = v.narrow(2, c * w, w);
            Tensor validC = valid.narrow(1, c * w, w);
            Tensor kPrev = c == 0 ? Tensors.zeros(type, b, hkv, w, d) : k.narrow(2, (c - 1) * w, w);
            Tensor vPrev = c == 0 ? Tensors.zeros(type, b, hkv, w, d) : v.narrow(2, (c - 1) * w, w);
            Tensor validPrev = c == 0 ? Tensors.zeros(type, b, w) : valid.narrow(1, (c - 1) * w, w);
            // Softmax keys: [cache | previous block | own block], masks [B, Hkv, W, C + 2W].
            Tensor keys = Heads.expand(Tensors.cat(2, memory.cacheKeys(), kPrev, kc), group);
            Tensor values = Heads.expand(Tensors.cat(2, memory.cacheValues(), vPrev, vc), group);
            Tensor cacheMask = memory.cacheValid().unsqueeze(2).expand(new long[] {b, hkv, w, cacheSize});
            Tensor prevMask = validPrev.view(b, 1, 1, w).expand(new long[] {b, hkv, w, w});
            Tensor ownMask = causal.view(1, 1, w, w).mul(validC.view(b, 1, 1, w));
            Tensor mask = Heads.expand(Tensors.cat(3, cacheMask, prevMask, ownMask.expand(new long[] {b, hkv, w, w})), group);
            Tensor scores = qc.matmul(keys.transpose(2, 3)).mul(Tensors.scalar(1.0 / Math.sqrt(d)));
            scores = scores.masked_fill(mask.eq(Tensors.scalar(0)), Tensors.scalar(MASKED));
            Tensor a = scores.sub(scores.amax(new long[] {-1}, true)).exp().mul(mask).mul(gamma);
            Tensor phiQ = p.featureQ().apply(qc);                                   // [B, H, W, Fw]
            Tensor numerator = a.matmul(values).add(phiQ.matmul(memory.s()).mul(lambda));
            Tensor denominator = a.sum(new long[] {-1}, false, new ScalarTypeOptional())
                    .add(phiQ.matmul(memory.z().unsqueeze(-1)).squeeze(-1).mul(lambda.squeeze(-1)));
            // Padding queries see no key: a unit denominator keeps them (and gradients) finite.
            denominator = denominator.add(denominator.eq(Tensors.scalar(0)).to(type));
            outputs[c] = numerator.div(denominator.unsqueeze(-1));
            if (c >= 1 && c < blocks - 1) {
                memory = compete(p, group, memory, kPrev, vPrev, validPrev.view(b, 1, w).expand(new long[] {b, hkv, w}));
            }
        }
        Tensor output = Tensors.cat(2, outputs).narrow(2, 0, n);
        if (!wantMemory) {
            return new Prefill(output, null);
        }
        // Decoding keeps the last W positions in its window; every older key not yet decided on
        // (from block blocks - 2 on, up to position n - W) competes once more.
        long from = Math.max(0, (blocks - 2) * w);
        long until = Math.max(from, n - w);
        if (until > from) {
            Tensor candidateValid = valid.narrow(1, from, until - from).view(b, 1, until - from)
                    .expand(new long[] {b, hkv, until - from});
            memory = compete(p, group, memory, k.narrow(2, from, until - from), v.narrow(2, from, until - from),
                    candidateValid);
        }
        return new Prefill(output, memory);
    }

    /**
     * One competition: the cache and new candidates ([B, Hkv, M, d], validity [B, Hkv, M]) are
     * ranked by their self-recall error against the memory's S and z; the C largest stay cached, the
     * rest are folded into S and z. Invalid candidates rank last and fold with weight zero.
     */
    static Memory compete(HybridParams p, int group, Memory memory, Tensor keys, Tensor values, Tensor validity) {
        int cacheSize = (int) memory.cacheKeys().size(2);
        Tensor allKeys = Tensors.cat(2, memory.cacheKeys(), keys);
        Tensor allValues = Tensors.cat(2, memory.cacheValues(), values);
        Tensor allValid = Tensors.cat(2, memory.cacheValid(), validity);
        Tensor score = recallError(p, group, allKeys, allValues, memory.s(), memory.z())
                .masked_fill(allValid.eq(Tensors.scalar(0)), Tensors.scalar(Double.NEGATIVE_INFINITY));
        long m = allKeys.size(2);
        Tensor kept = score.topk(cacheSize, -1, true, true).get1();         // [B, Hkv, C], largest first
        Tensor keptMask = Tensors.zeros(allValid.scalar_type(), Tensors.shape(allValid))
                .scatter(-1, kept, Tensors.scalar(1));
        Tensor foldWeights = allValid.mul(keptMask.neg().add(Tensors.scalar(1)));  // [B, Hkv, M]
        Tensor[] sums = foldSums(p, group, allKeys, allValues, foldWeights);
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
