package dev.lolcats4j.lolcats;

import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * One layer's LoLCATs attention parameters.
 *
 * @param window W, the softmax window (ignored for {@link AttentionKind#LINEAR})
 * @param windowFactors [1, H, 1, 1] logits; gamma = sigmoid(windowFactors)
 * @param affine lambda = 1 - gamma instead of 1
 */
public record HybridParams(AttentionKind kind, int window, FeatureMap featureQ, FeatureMap featureK,
        Tensor windowFactors, boolean affine) {

    /** logit(0.1): the reference's initial window factor. */
    public static final double INITIAL_WINDOW_LOGIT = -2.1972245773362196;

    /**
     * What trains when this layer's attention trains: both feature maps' weights, their biases
     * when present, and the window factors. Stage 1 and stage 2's {@code --train-feature-maps}
     * both use this list, so they can never disagree.
     */
    public java.util.List<Tensor> trainableTensors() {
        java.util.List<Tensor> out = new java.util.ArrayList<>();
        out.add(featureQ.weight());
        out.add(featureK.weight());
        if (featureQ.bias() != null) {
            out.add(featureQ.bias());
        }
        if (featureK.bias() != null) {
            out.add(featureK.bias());
        }
        out.add(windowFactors);
        return out;
    }

    public int heads() {
        return (int) windowFactors.size(1);
    }

    /** gamma per head, shaped [1, H, 1, 1] (then viewed as needed). */
    public Tensor gamma() {
        return windowFactors.sigmoid();
    }

    /** lambda per head, [1, H, 1, 1]: ones, or 1 - gamma when affine. */
    public Tensor lambda() {
        return affine ? gamma().neg().add(Tensors.scalar(1)) : Tensors.ones(windowFactors.scalar_type(), 1, heads(), 1, 1);
    }
}
