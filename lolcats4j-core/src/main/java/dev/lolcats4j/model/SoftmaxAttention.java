package dev.lolcats4j.model;

import dev.lolcats4j.kernels.DecodeAttention;
import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Causal softmax attention with grouped-query heads through libtorch's fused
 * scaled_dot_product_attention (flash kernel on CPU: no N x N matrix, GQA without copying
 * keys). Computed in float32, or in bf16 for models whose matmuls run in bf16, as Hugging
 * Face runs a bf16 model's SDPA: the flash kernel keeps its softmax statistics and sums in
 * float32 either way, and bf16 inputs run on the AMX units (6-11 ms instead of 35 ms for one
 * layer at 1024 tokens here). Where that kernel is slow (native bf16 without AMX), a bf16 model's
 * plain causal prompts can run in bf16 query chunks instead ({@link BlockedCausalAttention},
 * {@code blockedPrompts}). Outputs are float32.
 *
 * <p>With a sliding window W (Mistral's {@code sliding_window}, Qwen2's windowed layers), a
 * query at position p sees the keys at positions p - W + 1 .. p, as in Hugging Face. The KV
 * cache still keeps every position (a decode step reads only the last W).
 */
public final class SoftmaxAttention implements Attention {

    private final int groupSize;
    private final ScalarType computeType;
    private final int window;
    private final boolean blockedPrompts;

    /** Float32 attention over every earlier token. */
    public SoftmaxAttention(int groupSize) {
        this(groupSize, Tensors.F32);
    }

    /** Attention over every earlier token whose SDPA runs in {@code computeType} (float32 or bf16). */
    public SoftmaxAttention(int groupSize, ScalarType computeType) {
        this(groupSize, computeType, 0);
    }

    /** @param window sliding window W (a query sees itself and W - 1 earlier keys), or 0 for none */
    public SoftmaxAttention(int groupSize, ScalarType computeType, int window) {
        this(groupSize, computeType, window, false);
    }

    /**
     * @param blockedPrompts a plain causal prompt (no padding, no earlier cache, within any
     *     window, no autograd) runs in bf16 query chunks ({@link BlockedCausalAttention}); every
     *     other call in {@code computeType}
     */
    public SoftmaxAttention(int groupSize, ScalarType computeType, int window, boolean blockedPrompts) {
        if (window < 0) {
            throw new IllegalArgumentException("window " + window);
        }
        this.groupSize = groupSize;
        this.computeType = computeType;
        this.window = window;
        this.blockedPrompts = blockedPrompts;
    }

    /** Whether plain causal prompts run in bf16 query chunks. */
    public boolean blockedPrompts() {
        return blockedPrompts;
    }

    /** The sliding window W, or 0. */
    public int window() {
        return window;
    }

    @Override
    public Tensor forward(Tensor q, Tensor k, Tensor v, AttentionContext context, LayerCache cache) {
        if (cache != null) {
            Tensor[] all = ((KvCache) cache).append(k, v);
            k = all[0];
            v = all[1];
        }
        long n = q.size(2);
        if (blockedPrompts && n > 1 && k.size(2) == n && context.keyValid() == null && (window == 0 || n <= window)
                && !org.bytedeco.pytorch.GradMode.is_enabled()) {
            return BlockedCausalAttention.forward(q, k, v, groupSize, Tensors.BF16, BlockedCausalAttention.chunkFor(q.size(0) * q.size(1), n));
        }
        // Several queries: the compute dtype. One (a decode step): float32, which is memory-bound
        // anyway and would otherwise convert the whole cache every step.
        if (n > 1 && !Tensors.same(computeType, q.scalar_type())) {
            q = q.to(computeType);
            k = k.to(computeType);
            v = v.to(computeType);
        }
        return sdpa(q, k, v, context).to(Tensors.F32);
    }

    private Tensor sdpa(Tensor q, Tensor k, Tensor v, AttentionContext context) {
        long n = q.size(2);
        long total = k.size(2);
        long past = total - n;
        // Some query has a key outside its window only if the keys span more than W positions.
        boolean windowed = window > 0 && total > window;
        if (context.keyValid() == null && !windowed && (past == 0 || n == 1)) {
            // Plain causal prefill, or one new token that sees every cached key.
            return torch.scaled_dot_product_attention(q, k, v, new TensorOptional(), 0.0, past == 0 && n > 1,
                    new DoubleOptional(scale(q)), groupSize > 1);
        }
        if (context.keyValid() == null && windowed && n == 1) {
            // One new token without padding: its window is the last W keys.
            return torch.scaled_dot_product_attention(q, k.narrow(2, total - window, window), v.narrow(2, total - window, window),
                    new TensorOptional(), 0.0, false, new DoubleOptional(scale(q)), groupSize > 1);
        }
        if (!windowed || n <= window) {
            return masked(q, k, v, past, 0, context.keyValid());
        }
        // Long windowed prefill: queries in blocks, each against only the keys its window can
        // reach, so that work and mask memory grow with N x W instead of N x N.
        long block = Math.max(window, 256);
        java.util.List<Tensor> parts = new java.util.ArrayList<>();
        for (long start = 0; start < n; start += block) {
            long count = Math.min(block, n - start);
            long from = Math.max(0, past + start - window + 1);
            long to = past + start + count;
            parts.add(masked(q.narrow(2, start, count), k.narrow(2, from, to - from), v.narrow(2, from, to - from),
                    past + start, from, context.keyValid()));
        }
        return Tensors.cat(2, parts.toArray(Tensor[]::new));
    }

    /**
     * SDPA with an explicit mask: queries at positions firstQuery.., keys at firstKey..; causal,
     * windowed if W > 0, padding keys hidden.
     */
    private Tensor masked(Tensor q, Tensor k, Tensor v, long firstQuery, long firstKey, Tensor keyValid) {
        long n = q.size(2);
        long t = k.size(2);
        Tensor queryPositions = Tensors.arange(n).add(Tensors.scalar(firstQuery)).unsqueeze(1); // [N, 1]
        Tensor keyPositions = Tensors.arange(t).add(Tensors.scalar(firstKey)).unsqueeze(0);     // [1, T]
        Tensor allowed = keyPositions.le(queryPositions);                                       // [N, T]
        if (window > 0) {
            allowed = allowed.logical_and(keyPositions.gt(queryPositions.sub(Tensors.scalar(window))));
        }
        if (keyValid != null) {
            // Padding keys are hidden; a padding query still sees itself, so that no row is
            // empty (an empty row would put NaN into values that real rows multiply by 0).
            allowed = allowed.unsqueeze(0).logical_and(keyValid.narrow(1, firstKey, t).unsqueeze(1))
                    .logical_or(keyPositions.eq(queryPositions).unsqueeze(0))
                    .unsqueeze(1);                                                              // [B, 1, N, T]
        }
        return torch.scaled_dot_product_attention(q, k, v, new TensorOptional(allowed), 0.0, false,
                new DoubleOptional(scale(q)), groupSize > 1);
    }

    private static double scale(Tensor q) {
        return 1.0 / Math.sqrt(q.size(3));
    }

    @Override
    public LayerCache newCache() {
        return new KvCache();
    }

    /** Appends to the KV cache's buffers and attends over them in Java (see DecodeAttention). */
    @Override
    public boolean decodeStep(DecodeShape shape, float[] q, float[] k, float[] v, AttentionContext context, LayerCache cache,
            float[] out) {
        if (!(cache instanceof KvCache kv)) {
            return false;
        }
        kv.appendOne(k, v, shape.batch(), shape.kvHeads(), shape.headDim());
        DecodeAttention.Shape sizes = new DecodeAttention.Shape(shape.batch(), shape.heads(), shape.kvHeads(), shape.headDim(),
                (int) kv.capacity(), (int) kv.length(), window);
        DecodeAttention.attend(q, kv.keyBytes(), kv.valueBytes(), sizes, kv.keyValid(context, shape.batch()),
                (float) (1.0 / Math.sqrt(shape.headDim())), out);
        return true;
    }
}
