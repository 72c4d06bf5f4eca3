package dev.lolcats4j.train;

import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/** Masked next-token cross-entropy, averaged over the targets that count. */
final class LanguageModelLoss {

    private LanguageModelLoss() {}

    static Tensor of(DecoderModel model, Batch batch) {
        Tensor logits = model.forward(batch.inputs());                       // [B, N, V] float32
        Tensor logp = logits.log_softmax(-1);
        Tensor picked = logp.gather(-1, batch.targets().unsqueeze(-1)).squeeze(-1); // [B, N]
        Tensor counted = batch.mask().sum();
        return picked.mul(batch.mask()).sum().neg().div(counted.clamp_min(Tensors.scalar(1)));
    }
}
