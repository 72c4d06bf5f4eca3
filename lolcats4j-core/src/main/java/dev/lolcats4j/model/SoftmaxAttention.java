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
 * layer at 1024 tokens here). Outputs are float32.
 */
public final class SoftmaxAttention implements Attention {

    private final int groupSize;
    private final ScalarType computeType;

    /** Float32 attention. */
    public SoftmaxAttention(int groupSize) {
        this(groupSize, Tensors.F32);
    }

    /** Attention whose SDPA runs in {@code computeType} (float32 or bf16). */
    public SoftmaxAttention(int groupSize, ScalarType computeType) {
        this.groupSize = groupSize;
        this.computeType = computeType;
    }

    @Override
    public Tensor forward(Tensor q, Tensor k, Tensor v, AttentionContext context, LayerCache cache) {
        if (cache != null) {
            Tensor[] all = ((KvCache) cache).append(k, v);
            k = all[0];
            v = all[1];
        }
        // Several queries: the compute dtype. One (a decode step): float32, which is memory-bound
        // anyway and would otherwise convert the whole cache every step.
        if (q.size(2) > 1 && !Tensors.same(computeType, q.scalar_type())) {
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
        double scale = 1.0 / Math.sqrt(q.size(3));
        boolean gqa = groupSize > 1;
        if (context.keyValid() == null && (past == 0 || n == 1)) {
            // Plain causal prefill, or one new token that sees every cached key.
            return torch.scaled_dot_product_attention(q, k, v, new TensorOptional(), 0.0, past == 0 && n > 1,
                    new DoubleOptional(scale), gqa);
        }
        Tensor queryPositions = Tensors.arange(n).add(Tensors.scalar(past)).unsqueeze(1); // [N, 1]
        Tensor keyPositions = Tensors.arange(total).unsqueeze(0);                          // [1, T]
        Tensor allowed = keyPositions.le(queryPositions);                                  // [N, T]
        if (context.keyValid() != null) {
            // Padding keys are hidden; a padding query still sees itself, so that no row is
            // empty (an empty row would put NaN into values that real rows multiply by 0).
            allowed = allowed.unsqueeze(0).logical_and(context.keyValid().unsqueeze(1))
                    .logical_or(keyPositions.eq(queryPositions).unsqueeze(0))
                    .unsqueeze(1);                                                         // [B, 1, N, T]
        }
        return torch.scaled_dot_product_attention(q, k, v, new TensorOptional(allowed), 0.0, false,
                new DoubleOptional(scale), gqa);
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
                (int) kv.capacity(), (int) kv.length());
        DecodeAttention.attend(q, kv.keyBytes(), kv.valueBytes(), sizes, kv.keyValid(context, shape.batch()),
                (float) (1.0 / Math.sqrt(shape.headDim())), out);
        return true;
    }
}
