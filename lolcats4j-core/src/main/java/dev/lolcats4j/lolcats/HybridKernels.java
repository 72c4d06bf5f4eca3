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

    /** Block-wise form: no N x N tensor anywhere; every product in the inputs' dtype. */
    public static Tensor chunked(HybridParams p, Tensor q, Tensor k, Tensor v, Tensor keyValid) {
        return chunked(p, q, k, v, keyValid, SEGMENT_BLOCKS, null, BlockProducts.INPUT);
    }

    /**
     * Block-wise form with the block products in {@code products} (see {@link BlockProducts}):
     * softmax, the running linear sums and the normalisation stay in the inputs' dtype.
     */
    public static Tensor chunked(HybridParams p, Tensor q, Tensor k, Tensor v, Tensor keyValid, BlockProducts products) {
        return chunked(p, q, k, v, keyValid, SEGMENT_BLOCKS, null, products);
    }

    /**
     * The block-wise form after earlier keys that only the linear part sees: {@code sums}
     * [B, H, Fw, d + 1] holds their phi_k [v | 1]^T (S beside z), as a decode state keeps them.
     * Used to continue a prefill chunk by chunk ({@link HybridState}).
     */
    static Tensor chunked(HybridParams p, Tensor q, Tensor k, Tensor v, Tensor keyValid, Tensor sums) {
        return chunked(p, q, k, v, keyValid, SEGMENT_BLOCKS, sums, BlockProducts.INPUT);
    }

    static Tensor chunked(HybridParams p, Tensor q, Tensor k, Tensor v, Tensor keyValid, int segmentBlocks) {
        return chunked(p, q, k, v, keyValid, segmentBlocks, null, BlockProducts.INPUT);
    }

    /**
     * The block-wise form over segments of {@code segmentBlocks} blocks, so that intermediates
     * stay segment-sized however long the sequence. Each segment also takes in its previous
     * block (the window reaches back into it) and the linear sums of every key before that.
     */
    private static Tensor chunked(HybridParams p, Tensor q, Tensor k, Tensor v, Tensor keyValid, int segmentBlocks,
            Tensor sums, BlockProducts products) {
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
        // Without padding or invalid keys every query sees itself, so no row is fully masked and
        // the validity multiplications can be skipped.
        boolean masked = keyValid != null || pad > 0;
        long fw = p.featureK().outputWidth();
        Tensor[] state = {sums != null ? sums.view(b, h, 1, fw, q.size(3) + 1)
                : torch.zeros(new long[] {b, h, 1, fw, q.size(3) + 1}, Tensors.options(type))};
        long segmentTokens = Math.min(padded, (long) segmentBlocks * w);
        if (segmentTokens == padded) {
            return segment(p, q, k, v, validF, masked, w, state, products).narrow(2, front ? pad : 0, n);
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
                Tensor y = segment(p, qi, ki, vi, validi, masked, w, state, products);
                outputs[i] = Tensors.handOver(i == 0 ? y : y.narrow(2, w, y.size(2) - w), outer);
                state[0] = Tensors.handOver(state[0], outer);
            }
        }
        return Tensors.cat(2, outputs).narrow(2, front ? pad : 0, n);
    }

    /**
     * One run of blocks. {@code state[0]} holds the linear sums phi_k [v | 1]^T ([B, H, 1, Fw,
     * d + 1]) of every key before the run's first block; on return it covers every block but
     * the last, which the next run sees as its previous block.
     *
     * <p>Values carry an extra column of ones, so each product with them yields the numerator
     * (first d columns) and the denominator (last column) together. Right-hand operands of the
     * block products are built contiguous: libtorch's batched matmul with a transposed view on
     * the right runs about half as fast on CPU.
     */
    private static Tensor segment(HybridParams p, Tensor q, Tensor k, Tensor v, Tensor validF, boolean masked, long w, Tensor[] state,
            BlockProducts products) {
        long b = q.size(0);
        long h = q.size(1);
        long padded = q.size(2);
        long d = q.size(3);
        long c = padded / w;
        org.bytedeco.pytorch.global.torch.ScalarType type = q.scalar_type();
        Product mm = new Product(products, type);
        Tensor phiQ = p.featureQ().apply(q, products);                // [B, H, Np, Fw]
        Tensor phiK = p.featureK().apply(k, products);
        if (masked) {
            phiK = phiK.mul(validF.view(b, 1, padded, 1));
        }
        long fw = phiQ.size(3);
        // Operands are cast to the product dtype once here, not per product.
        Tensor values = mm.operand(Tensors.cat(3, v, torch.ones(new long[] {b, h, padded, 1}, Tensors.options(type))));
        Tensor vb = values.view(b, h, c, w, d + 1);
        Tensor phiQb = mm.operand(phiQ).view(b, h, c, w, fw);
        Tensor phiKt = mm.operand(phiK).view(b, h, c, w, fw).transpose(3, 4).contiguous(); // [B, H, C, Fw, W]

        // Linear sums per block, then the sums of every key at least `lag` blocks back.
        Tensor blockKv = mm.apply(phiKt, vb);                         // [B, H, C, Fw, d+1]
        Tensor before = state[0];
        if (c >= 2) {
            state[0] = before.add(blockKv.narrow(2, 0, c - 1).sum(new long[] {2}, true, new org.bytedeco.pytorch.ScalarTypeOptional()));
        }
        long lag = p.kind() == AttentionKind.LINEAR ? 1 : 2;
        Tensor lagged = laggedSums(blockKv, lag).add(before);
        Tensor linear = mm.apply(phiQb, lagged);                      // [B, H, C, W, d+1]

        Tensor total;
        if (p.kind() == AttentionKind.LINEAR) {
            // Li = {j <= i}: earlier blocks through the sums, own block causally.
            Tensor intra = mm.applyKeep(phiQb, phiKt).mul(causal(w, mm.operandType()));
            total = mm.apply(intra, vb).add(linear);
        } else {
            Tensor qb = mm.operand(q).view(b, h, c, w, d);
            Tensor kt = mm.operand(k).view(b, h, c, w, d).transpose(3, 4); // [B, H, C, d, W]
            Tensor keysT = Tensors.cat(4, shiftBlocks(kt, 1), kt);     // [B, H, C, d, 2W]
            Tensor vPrev = shiftBlocks(vb, 1);
            Tensor windowValues = Tensors.cat(3, vPrev, vb);          // [B, H, C, 2W, d+1]
            // Masked keys get a large negative bias, so e^(s - max) is exactly 0 for them and no
            // mask has to be multiplied in: bias + scale * q k^T is one pass over the scores.
            // The first block's "previous block" is zeros, invalid like padding keys.
            Tensor validB = validF.view(b, 1, c, w);
            Tensor invalidKeys = Tensors.cat(3, shiftBlocks(validB, 1), validB)   // [B, 1, C, 2W]
                    .neg().add(Tensors.scalar(1)).mul(Tensors.scalar(MASKED)).unsqueeze(3);
            Tensor bias = windowBias(p.kind(), w, type).add(invalidKeys);  // [B, 1, C, W, 2W]
            Tensor scores = bias.add(mm.apply(qb, keysT), Tensors.scalar(1.0 / Math.sqrt(d)));
            Tensor max = scores.amax(new long[] {-1}, true);
            // gamma scales the window part after the product, on a tensor 2W/(d+1) times smaller.
            Tensor window = mm.apply(scores.sub(max).exp(), windowValues).mul(p.gamma().view(1, h, 1, 1, 1));
            if (masked) {
                // A query that sees no valid key (padding) has max = MASKED and would weigh every
                // masked key by e^0: its window part is dropped instead.
                window = window.mul(max.gt(Tensors.scalar(MASKED / 2)).to(type));
            }
            if (p.kind() == AttentionKind.HYBRID_SW) {
                // Keys of the previous block that have left the window (offset t <= r for query
                // offset r) are linear too. These scores only feed the next product, so they stay
                // in its operand dtype (the 0/1 mask is exact in bf16).
                Tensor intra = mm.applyKeep(phiQb, shiftBlocks(phiKt, 1)).mul(causal(w, mm.operandType()));
                linear = linear.add(mm.apply(intra, vPrev));
            }
            total = window.add(linear.mul(p.lambda().view(1, h, 1, 1, 1)));
        }
        Tensor numerator = total.narrow(4, 0, d);
        Tensor denominator = total.narrow(4, d, 1);
        // Padding queries see no real key (0 / 0); give them a unit denominator so that
        // neither the output nor the gradient carries NaN. Real queries always see themselves.
        denominator = denominator.add(denominator.eq(Tensors.scalar(0)).to(type));
        return numerator.div(denominator).reshape(b, h, padded, d);
    }

    /**
     * A block product: operands in the product dtype, result back in the inputs' dtype, so that
     * everything between products (scores' softmax, running sums, normalisation) keeps it.
     */
    private record Product(BlockProducts products, org.bytedeco.pytorch.global.torch.ScalarType type) {

        Tensor operand(Tensor t) {
            return products == BlockProducts.BF16 ? t.to(org.bytedeco.pytorch.global.torch.ScalarType.BFloat16) : t;
        }

        org.bytedeco.pytorch.global.torch.ScalarType operandType() {
            return products == BlockProducts.BF16 ? org.bytedeco.pytorch.global.torch.ScalarType.BFloat16 : type;
        }

        /** The product, back in the inputs' dtype. */
        Tensor apply(Tensor a, Tensor b) {
            Tensor y = applyKeep(a, b);
            return products == BlockProducts.BF16 && !Tensors.same(y.scalar_type(), type) ? y.to(type) : y;
        }

        /** The product in the operand dtype: for a result that is only the operand of another product. */
        Tensor applyKeep(Tensor a, Tensor b) {
            return operand(a).matmul(operand(b));
        }
    }

    /**
     * Sums of the blocks at least {@code lag} blocks back: out[c] = sum over c' <= c - lag of
     * blocks[c'], along dim 2 of [B, H, C, ...]. One matmul with a triangular 0/1 matrix, which
     * also does the shift, where cumsum along a middle dimension is slow on CPU.
     */
    private static Tensor laggedSums(Tensor blocks, long lag) {
        long[] shape = Tensors.shape(blocks);
        long c = shape[2];
        Tensor lower = Tensors.ones(blocks.scalar_type(), c, c).tril(-lag);
        Tensor flat = blocks.reshape(shape[0], shape[1], c, -1);
        return lower.matmul(flat).view(shape);
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

    /**
     * Window membership inside the [previous block | own block] key layout as an additive bias,
     * [W, 2W] float: 0 inside the window, {@link #MASKED} outside.
     */
    private static Tensor windowBias(AttentionKind kind, long w, org.bytedeco.pytorch.global.torch.ScalarType type) {
        Tensor r = Tensors.arange(w).unsqueeze(1);
        Tensor t = Tensors.arange(2 * w).unsqueeze(0);
        Tensor upper = t.le(r.add(Tensors.scalar(w)));                // causal: key offset t - W <= r
        Tensor inside = kind == AttentionKind.HYBRID_SW ? upper.logical_and(t.gt(r)) : upper;
        return inside.logical_not().to(type).mul(Tensors.scalar(MASKED));
    }

    /** [W, W] lower-triangular ones (key offset t <= query offset r). */
    private static Tensor causal(long w, org.bytedeco.pytorch.global.torch.ScalarType type) {
        return Tensors.ones(type, w, w).tril(0);
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
