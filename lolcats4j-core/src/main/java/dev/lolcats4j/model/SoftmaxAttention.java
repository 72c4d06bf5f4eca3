package dev.lolcats4j.model;

import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * Causal softmax attention in float32 with grouped-query heads, computed in query chunks so
 * that a long prefill never materialises the full N x N score matrix.
 */
public final class SoftmaxAttention implements Attention {

    private static final long QUERY_CHUNK = 512;
    private static final double MASKED = -1e30;

    private final int groupSize;

    public SoftmaxAttention(int groupSize) {
        this.groupSize = groupSize;
    }

    @Override
    public Tensor forward(Tensor q, Tensor k, Tensor v, AttentionContext context, LayerCache cache) {
        if (cache != null) {
            Tensor[] all = ((KvCache) cache).append(k, v);
            k = all[0];
            v = all[1];
        }
        Tensor keys = Heads.expand(k, groupSize);
        Tensor values = Heads.expand(v, groupSize);
        long n = q.size(2);
        long total = keys.size(2);
        long past = total - n;
        double scale = 1.0 / Math.sqrt(q.size(3));
        Tensor keyPositions = Tensors.arange(total).unsqueeze(0); // [1, T]
        Tensor outputs = null;
        Tensor[] parts = new Tensor[(int) ((n + QUERY_CHUNK - 1) / QUERY_CHUNK)];
        for (int c = 0; c < parts.length; c++) {
            long start = c * QUERY_CHUNK;
            long len = Math.min(QUERY_CHUNK, n - start);
            Tensor qc = q.narrow(2, start, len);
            Tensor scores = qc.matmul(keys.transpose(2, 3)).mul(Tensors.scalar(scale)); // [B,H,len,T]
            Tensor queryPositions = Tensors.arange(len).add(Tensors.scalar(past + start)).unsqueeze(1); // [len,1]
            Tensor allowed = keyPositions.le(queryPositions); // [len, T]
            if (context.keyValid() != null) {
                allowed = allowed.unsqueeze(0).logical_and(context.keyValid().unsqueeze(1)).unsqueeze(1); // [B,1,len,T]
            }
            scores = scores.masked_fill(allowed.logical_not(), Tensors.scalar(MASKED));
            parts[c] = Tensors.softmaxF32(scores, -1).matmul(values);
        }
        outputs = parts.length == 1 ? parts[0] : Tensors.cat(2, parts);
        return outputs;
    }

    @Override
    public LayerCache newCache() {
        return new KvCache();
    }
}
