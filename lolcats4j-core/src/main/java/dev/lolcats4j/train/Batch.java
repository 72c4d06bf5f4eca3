package dev.lolcats4j.train;

import dev.lolcats4j.data.PackedDataset.Sequence;
import dev.lolcats4j.torch.Tensors;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * A micro-batch of packed sequences: inputs [B, N] and shifted targets [B, N] (int64), and a
 * float mask [B, N] that is 1 where the target counts toward the loss.
 */
public record Batch(Tensor inputs, Tensor targets, Tensor mask) {

    public static Batch of(List<Sequence> sequences) {
        int b = sequences.size();
        int n = sequences.get(0).tokens().length - 1;
        long[] inputs = new long[b * n];
        long[] targets = new long[b * n];
        float[] mask = new float[b * n];
        for (int i = 0; i < b; i++) {
            Sequence s = sequences.get(i);
            for (int t = 0; t < n; t++) {
                inputs[i * n + t] = s.tokens()[t];
                targets[i * n + t] = s.tokens()[t + 1];
                mask[i * n + t] = s.targetCounts()[t] ? 1 : 0;
            }
        }
        return new Batch(Tensors.ofLongs(inputs, b, n), Tensors.ofLongs(targets, b, n), Tensors.ofFloats(mask, b, n));
    }

    public long tokens() {
        return inputs.numel();
    }
}
