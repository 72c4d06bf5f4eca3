package dev.lolcats4j.train;

import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/** Masked next-token cross-entropy, averaged over the targets that count. */
final class LanguageModelLoss {

    private LanguageModelLoss() {}

    /** Forward and backward of the scaled loss; returns the unscaled loss. */
    static double backward(DecoderModel model, Batch batch, double scale) {
        Tensor loss = of(model, batch);
        double value = loss.item_double();
        loss.mul(Tensors.scalar(scale)).backward();
        return value;
    }

    static double evaluate(DecoderModel model, Batch batch) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            return of(model, batch).item_double();
        }
    }

    static Tensor of(DecoderModel model, Batch batch) {
        Tensor logits = model.forward(batch.inputs());                       // [B, N, V] float32
        Tensor logp = logits.log_softmax(-1);
        Tensor picked = logp.gather(-1, batch.targets().unsqueeze(-1)).squeeze(-1); // [B, N]
        Tensor counted = batch.mask().sum();
        return picked.mul(batch.mask()).sum().neg().div(counted.clamp_min(Tensors.scalar(1)));
    }
}
