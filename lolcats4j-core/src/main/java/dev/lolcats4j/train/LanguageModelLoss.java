package dev.lolcats4j.train;

import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.DecoderLayer;
import dev.lolcats4j.model.DecoderModel;
import java.util.List;
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

    /**
     * The same loss and gradients as {@link #backward}, with activation checkpointing: the
     * forward keeps only each layer's input (no graph), then the backward recomputes one layer
     * at a time with its graph and pushes the gradient through it. Peak memory holds one
     * layer's graph plus the logits instead of every layer's; the price is a second forward.
     * For objectives that train tensors inside the layers (LoRA, feature maps), not the
     * embeddings: the gradient stops at the first layer's input.
     */
    static double backwardLayerByLayer(DecoderModel model, Batch batch, double scale) {
        List<DecoderLayer> layers = model.layers();
        long b = batch.inputs().size(0);
        long n = batch.inputs().size(1);
        Tensor[] cosSin;
        Tensor[] inputs = new Tensor[layers.size() + 1];
        try (NoGradGuard noGrad = new NoGradGuard()) {
            Tensor positions = Tensors.arange(n).unsqueeze(0).expand(b, n).contiguous();
            cosSin = model.rope().cosSin(positions);
            inputs[0] = model.embed(batch.inputs());
            for (int i = 0; i < layers.size(); i++) {
                org.bytedeco.javacpp.PointerScope outer = org.bytedeco.javacpp.PointerScope.getInnerScope();
                try (org.bytedeco.javacpp.PointerScope layerScope = new org.bytedeco.javacpp.PointerScope()) {
                    inputs[i + 1] = Tensors.handOver(layers.get(i).forward(inputs[i], cosSin, AttentionContext.unpadded(), null), outer);
                }
            }
        }
        double value;
        Tensor gradient;
        org.bytedeco.javacpp.PointerScope outer = org.bytedeco.javacpp.PointerScope.getInnerScope();
        try (org.bytedeco.javacpp.PointerScope headScope = new org.bytedeco.javacpp.PointerScope()) {
            Tensor last = inputs[layers.size()].detach().requires_grad_(true);
            Tensor loss = of(model.logits(last), batch);
            value = loss.item_double();
            loss.mul(Tensors.scalar(scale)).backward();
            // grad() is a reference into last's autograd data: detach() makes an owning handle that outlives it.
            gradient = Tensors.handOver(last.grad().detach(), outer);
        }
        for (int i = layers.size() - 1; i >= 0; i--) {
            boolean first = i == 0;
            try (org.bytedeco.javacpp.PointerScope layerScope = new org.bytedeco.javacpp.PointerScope()) {
                Tensor input = inputs[i].detach().requires_grad_(!first);
                Tensor output = layers.get(i).forward(input, cosSin, AttentionContext.unpadded(), null);
                output.backward(gradient, new org.bytedeco.pytorch.BoolOptional(), false, new org.bytedeco.pytorch.TensorArrayRefOptional());
                gradient = first ? null : Tensors.handOver(input.grad().detach(), outer);
            }
        }
        return value;
    }

    static double evaluate(DecoderModel model, Batch batch) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            return of(model, batch).item_double();
        }
    }

    static Tensor of(DecoderModel model, Batch batch) {
        return of(model.forward(batch.inputs()), batch);                     // [B, N, V] float32
    }

    private static Tensor of(Tensor logits, Batch batch) {
        Tensor logp = logits.log_softmax(-1);
        Tensor picked = logp.gather(-1, batch.targets().unsqueeze(-1)).squeeze(-1); // [B, N]
        Tensor counted = batch.mask().sum();
        return picked.mul(batch.mask()).sum().neg().div(counted.clamp_min(Tensors.scalar(1)));
    }
}
