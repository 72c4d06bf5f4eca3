package dev.lolcats4j.lolcats;

import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The parallel forms of LoLCATs hybrid attention. All inputs are float32, per query head
 * (k and v already expanded from grouped-query heads), after RoPE:
 * q, k, v [B, H, N, d]; keyValid [B, N] bool or null.
 *
 * <p>{@link #chunked} is the training and prefill form: it cuts the sequence into blocks of
 * W and, per block, scores only the 2W keys that can fall in a window plus a running linear
 * state, so time and memory grow linearly with N. {@link #quadratic} builds the full N x N
 * masks and exists to check it.
 */
public final class HybridKernels {

    private static final double MASKED = -1e30;

    private HybridKernels() {}

    /** Blocks per segment of the chunked form (2048 tokens at W = 64). */
    static final int SEGMENT_BLOCKS = 32;

    /** Block-wise form: no N x N tensor anywhere. */
    public static Tensor chunked(HybridParams p, Tensor q, Tensor k, Tensor v, Tensor keyValid) {
        return chunked(p, q, k, v, keyValid, SEGMENT_BLOCKS);
    }

    /**
     * The block-wise form over segments of {@code segmentBlocks} blocks, so that intermediates
     * stay segment-sized however long the sequence. Each segment also takes in its previous
     * block (the window reaches back into it) and the linear sums of every key before that.
     */
    static Tensor chunked(HybridParams p, Tensor q, Tensor k, Tensor v, Tensor keyValid, int segmentBlocks) {
        long b = q.size(0);
        long h = q.size(1);
        long n = q.size(2);
        boolean linearOnly = p.kind() == AttentionKind.LINEAR;
        long w = linearOnly ? Math.min(64, Math.max(1, n)) : p.window();
        long padded = (n + w - 1) / w * w;
        long pad = padded - n;
        // Terrace blocks are aligned to the end of the sequence, so padding goes in front.
        boolean front = p.kind() == AttentionKind.HYBRID_TK;
        org.bytedeco.pytorch.global.torch.ScalarType type = q.scalar_type();
        Tensor valid = keyValid != null ? keyValid : torch.ones(new long[] {b, n}, Tensors.options(org.bytedeco.pytorch.global.torch.ScalarType.Bool));
        if (pad > 0) {
            q = padTokens(q, pad, front);
            k = padTokens(k, pad, front);
            v = padTokens(v, pad, front);
            valid = padTokens(valid.unsqueeze(1).unsqueeze(-1), pad, front).squeeze(-1).squeeze(1);
        }
        Tensor validF = valid.to(type);                                   // [B, Np]
        long fw = p.featureK().outputWidth();
        Tensor[] state = {torch.zeros(new long[] {b, h, 1, fw, q.size(3)}, Tensors.options(type)),
            torch.zeros(new long[] {b, h, 1, fw}, Tensors.options(type))};
        long segmentTokens = Math.min(padded, (long) segmentBlocks * w);
        if (segmentTokens == padded) {
            return segment(p, q, k, v, validF, w, state).narrow(2, front ? pad : 0, n);
        }
        // split (not narrow): its backward writes each piece's gradient once, where narrow's
        // would allocate a full-length gradient per segment.
        org.bytedeco.pytorch.TensorVector qs = q.split(segmentTokens, 2);
        org.bytedeco.pytorch.TensorVector ks = k.split(segmentTokens, 2);
        org.bytedeco.pytorch.TensorVector vs = v.split(segmentTokens, 2);
        org.bytedeco.pytorch.TensorVector valids = validF.split(segmentTokens, 1);
        Tensor[] outputs = new Tensor[(int) qs.size()];
        for (int i = 0; i < outputs.length; i++) {
            Tensor qi = qs.get(i);
            Tensor ki = ks.get(i);
            Tensor vi = vs.get(i);
            Tensor validi = valids.get(i);
            if (i > 0) {
                long last = qs.get(i - 1).size(2) - w;
                qi = Tensors.cat(2, qs.get(i - 1).narrow(2, last, w), qi);
                ki = Tensors.cat(2, ks.get(i - 1).narrow(2, last, w), ki);
                vi = Tensors.cat(2, vs.get(i - 1).narrow(2, last, w), vi);
                validi = Tensors.cat(1, valids.get(i - 1).narrow(1, last, w), validi);
            }
            // Each segment's temporaries are freed as soon as it is done (autograd keeps what
            // backward needs); only its output and the carried state outlive it.
            org.bytedeco.javacpp.PointerScope outer = org.bytedeco.javacpp.PointerScope.getInnerScope();
            try (org.bytedeco.javacpp.PointerScope segmentScope = new org.bytedeco.javacpp.PointerScope()) {
                Tensor y = segment(p, qi, ki, vi, validi, w, state);
                outputs[i] = Tensors.handOver(i == 0 ? y : y.narrow(2, w, y.size(2) - w), outer);
                state[0] = Tensors.handOver(state[0], outer);
                state[1] = Tensors.handOver(state[1], outer);
            }
        }
        return Tensors.cat(2, outputs).narrow(2, front ? pad : 0, n);
    }

    /**
     * One run of blocks. {@code state} holds the linear sums ([B, H, 1, Fw, d], [B, H, 1, Fw])
     * of every key before the run's first block; on return it covers every block but the last,
     * which the next run sees as its previous block.
     */
    private static Tensor segment(HybridParams p, Tensor q, Tensor k, Tensor v, Tensor validF, long w, Tensor[] state) {
        long b = q.size(0);
        long h = q.size(1);
        long padded = q.size(2);
        long d = q.size(3);
        boolean linearOnly = p.kind() == AttentionKind.LINEAR;
        org.bytedeco.pytorch.global.torch.ScalarType type = q.scalar_type();
        Tensor phiQ = p.featureQ().apply(q);                          // [B, H, Np, Fw]
        Tensor phiK = p.featureK().apply(k).mul(validF.view(b, 1, padded, 1));
        long fw = phiQ.size(3);
        Tensor gamma = p.gamma().view(1, h, 1, 1, 1);
        Tensor lambda = p.lambda().view(1, h, 1, 1, 1);
        long c = padded / w;

        Tensor qb = q.view(b, h, c, w, d);
        Tensor kb = k.view(b, h, c, w, d);
        Tensor vb = v.view(b, h, c, w, d);
        Tensor phiQb = phiQ.view(b, h, c, w, fw);
        Tensor phiKb = phiK.view(b, h, c, w, fw);
        Tensor validB = validF.view(b, 1, c, w);

        // Linear state per block: sum of phi_k v^T and of phi_k over the block's keys.
        Tensor blockKv = phiKb.transpose(3, 4).matmul(vb);            // [B, H, C, Fw, d]
        Tensor blockK = phiKb.sum(new long[] {3}, false, new org.bytedeco.pytorch.ScalarTypeOptional()); // [B, H, C, Fw]
        Tensor[] before = state.clone();                                  // keys before this run
        Tensor prefixKv = blockKv.cumsum(2).add(before[0]);
        Tensor prefixK = blockK.cumsum(2).add(before[1]);
        if (c >= 2) {
            state[0] = prefixKv.narrow(2, c - 2, 1);
            state[1] = prefixK.narrow(2, c - 2, 1);
        }

        Tensor numerator;
        Tensor denominator;
        if (linearOnly) {
            // Li = {j <= i}: earlier blocks through the state, own block causally.
            Tensor[] terms = stateTerms(phiQb, prefixKv, prefixK, 1, before);
            Tensor intra = phiQb.matmul(phiKb.transpose(3, 4)).mul(causal(w, type));
            numerator = intra.matmul(vb).add(terms[0]);
            denominator = intra.sum(new long[] {-1}, false, new org.bytedeco.pytorch.ScalarTypeOptional()).add(terms[1]);
        } else {
            Tensor kPrev = shiftBlocks(kb, 1);
            Tensor vPrev = shiftBlocks(vb, 1);
            Tensor validPrev = shiftBlocks(validB, 1);
            Tensor keys = Tensors.cat(3, kPrev, kb);                  // [B, H, C, 2W, d]
            Tensor values = Tensors.cat(3, vPrev, vb);
            Tensor windowMask = windowMask(p.kind(), w, type)                // [W, 2W]
                    .mul(Tensors.cat(3, validPrev, validB).unsqueeze(3)); // [B, 1, C, W, 2W]
            Tensor scores = qb.matmul(keys.transpose(3, 4)).mul(Tensors.scalar(1.0 / Math.sqrt(d)));
            scores = scores.masked_fill(windowMask.eq(Tensors.scalar(0)), Tensors.scalar(MASKED));
            Tensor max = scores.amax(new long[] {-1}, true);
            Tensor a = scores.sub(max).exp().mul(windowMask).mul(gamma);
            numerator = a.matmul(values);
            denominator = a.sum(new long[] {-1}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
            // Linear part: blocks up to c-2 through the state ...
            Tensor[] terms = stateTerms(phiQb, prefixKv, prefixK, 2, before);
            Tensor linNum = terms[0];
            Tensor linDen = terms[1];
            if (p.kind() == AttentionKind.HYBRID_SW) {
                // ... plus, for the sliding window, keys of block c-1 that have left the window
                // (offset t <= r for query offset r).
                Tensor phiKPrev = shiftBlocks(phiKb, 1);
                Tensor intra = phiQb.matmul(phiKPrev.transpose(3, 4)).mul(causal(w, type));
                linNum = linNum.add(intra.matmul(vPrev));
                linDen = linDen.add(intra.sum(new long[] {-1}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
            }
            numerator = numerator.add(linNum.mul(lambda));
            denominator = denominator.add(linDen.mul(lambda.squeeze(-1)));
        }
        // Padding queries see no real key (0 / 0); give them a unit denominator so that
        // neither the output nor the gradient carries NaN. Real queries always see themselves.
        denominator = denominator.add(denominator.eq(Tensors.scalar(0)).to(type));
        return numerator.div(denominator.unsqueeze(-1)).view(b, h, padded, d);
    }

    /**
     * Reference form with explicit N x N masks; for tests and the scaling benchmark only.
     */
    public static Tensor quadratic(HybridParams p, Tensor q, Tensor k, Tensor v, Tensor keyValid) {
        Tensor weights = unnormalizedWeights(p, q, k, keyValid);
        return weights.matmul(v).div(weights.sum(new long[] {-1}, true, new org.bytedeco.pytorch.ScalarTypeOptional()));
    }

    /**
     * The hybrid attention's rows of weights, normalised to sum to one: [B, H, N, N]. Used by the
     * optional attention cross-entropy term of stage 1 (quadratic memory, short sequences only).
     */
    public static Tensor attentionWeights(HybridParams p, Tensor q, Tensor k, Tensor keyValid) {
        Tensor weights = unnormalizedWeights(p, q, k, keyValid);
        return weights.div(weights.sum(new long[] {-1}, true, new org.bytedeco.pytorch.ScalarTypeOptional()));
    }

    /** gamma e^(s - m) on the window set plus lambda phi_q phi_k on the linear set, [B, H, N, N]. */
    private static Tensor unnormalizedWeights(HybridParams p, Tensor q, Tensor k, Tensor keyValid) {
        long n = q.size(2);
        long h = q.size(1);
        Tensor i = Tensors.arange(n).unsqueeze(1);
        Tensor j = Tensors.arange(n).unsqueeze(0);
        Tensor causal = j.le(i);
        Tensor windowSet;
        Tensor linearSet;
        switch (p.kind()) {
            case HYBRID_SW -> {
                windowSet = causal.logical_and(i.sub(j).lt(Tensors.scalar(p.window())));
                linearSet = i.sub(j).ge(Tensors.scalar(p.window()));
            }
            case HYBRID_TK -> {
                long shift = (p.window() - n % p.window()) % p.window();
                long[] blocks = new long[(int) n];
                for (int t = 0; t < n; t++) {
                    blocks[t] = (t + shift) / p.window();
                }
                Tensor bi = Tensors.ofLongs(blocks, n, 1);
                Tensor bj = Tensors.ofLongs(blocks, 1, n);
                windowSet = causal.logical_and(bj.ge(bi.sub(Tensors.scalar(1))));
                linearSet = bj.le(bi.sub(Tensors.scalar(2)));
            }
            default -> {
                windowSet = causal.logical_and(causal.logical_not());
                linearSet = causal;
            }
        }
        Tensor validKeys = keyValid == null ? null : keyValid.unsqueeze(1).unsqueeze(1); // [B,1,1,N]
        Tensor wMask = windowSet.to(q.scalar_type());
        Tensor lMask = linearSet.to(q.scalar_type());
        if (validKeys != null) {
            wMask = wMask.mul(validKeys.to(q.scalar_type()));
            lMask = lMask.mul(validKeys.to(q.scalar_type()));
        }
        Tensor scores = q.matmul(k.transpose(2, 3)).mul(Tensors.scalar(1.0 / Math.sqrt(q.size(3))));
        scores = scores.masked_fill(wMask.eq(Tensors.scalar(0)), Tensors.scalar(MASKED));
        Tensor a = scores.sub(scores.amax(new long[] {-1}, true)).exp().mul(wMask).mul(p.gamma().view(1, h, 1, 1));
        Tensor lin = p.featureQ().apply(q).matmul(p.featureK().apply(k).transpose(2, 3)).mul(lMask).mul(p.lambda().view(1, h, 1, 1));
        return a.add(lin);
    }

    /** Window membership inside the [previous block | own block] key layout, [W, 2W] float. */
    private static Tensor windowMask(AttentionKind kind, long w, org.bytedeco.pytorch.global.torch.ScalarType type) {
        Tensor r = Tensors.arange(w).unsqueeze(1);
        Tensor t = Tensors.arange(2 * w).unsqueeze(0);
        Tensor upper = t.le(r.add(Tensors.scalar(w)));                // causal: key offset t - W <= r
        Tensor mask = kind == AttentionKind.HYBRID_SW ? upper.logical_and(t.gt(r)) : upper;
        return mask.to(type);
    }

    /** [W, W] lower-triangular ones (key offset t <= query offset r). */
    private static Tensor causal(long w, org.bytedeco.pytorch.global.torch.ScalarType type) {
        return Tensors.ones(type, w, w).tril(0);
    }

    /**
     * The linear state's contribution to each block's queries: block c sees the prefix sums up
     * to block c - lag, the first {@code lag} blocks only the keys before the run. The product
     * runs on the (smaller) query side, so the large [B, H, C, Fw, d] prefix is never copied.
     *
     * @param before {sums of phi_k v^T [B, H, 1, Fw, d], sums of phi_k [B, H, 1, Fw]} of earlier keys
     * @return {numerator [B, H, C, W, d], denominator [B, H, C, W]}
     */
    private static Tensor[] stateTerms(Tensor phiQb, Tensor prefixKv, Tensor prefixK, long lag, Tensor[] before) {
        long c = phiQb.size(2);
        Tensor headQueries = phiQb.narrow(2, 0, Math.min(lag, c));
        Tensor num = headQueries.matmul(before[0]);
        Tensor den = headQueries.matmul(before[1].unsqueeze(-1)).squeeze(-1);
        if (c > lag) {
            Tensor queries = phiQb.narrow(2, lag, c - lag);
            num = Tensors.cat(2, num, queries.matmul(prefixKv.narrow(2, 0, c - lag)));
            den = Tensors.cat(2, den, queries.matmul(prefixK.narrow(2, 0, c - lag).unsqueeze(-1)).squeeze(-1));
        }
        return new Tensor[] {num, den};
    }

    /** Moves blocks along dim 2 by {@code by} positions, filling the first ones with zeros. */
    static Tensor shiftBlocks(Tensor blocks, long by) {
        long c = blocks.size(2);
        long[] shape = Tensors.shape(blocks);
        shape[2] = Math.min(by, c);
        Tensor zeros = torch.zeros(shape, Tensors.options(blocks.scalar_type()));
        if (by >= c) {
            return zeros;
        }
        return Tensors.cat(2, zeros, blocks.narrow(2, 0, c - by));
    }

    /** Pads [B, H, N, d] with zero tokens along dim 2, in front or behind. */
    private static Tensor padTokens(Tensor x, long pad, boolean front) {
        long[] shape = Tensors.shape(x);
        shape[2] = pad;
        Tensor zeros = torch.zeros(shape, Tensors.options(x.scalar_type()));
        return front ? Tensors.cat(2, zeros, x) : Tensors.cat(2, x, zeros);
    }
}
