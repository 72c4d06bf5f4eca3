package dev.lolcats4j.train;

import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/** What a training run optimises: its trainable tensors, its loss, and what it saves. */
public interface Objective {

    /** Trainable leaf tensors (requires_grad set). */
    List<Tensor> parameters();

    /**
     * Whether AdamW's weight decay applies to this trainable tensor (default: yes). Pretraining
     * exempts norm weights and biases, as common practice does: decaying a norm's gain towards
     * 0 only fights the loss.
     */
    default boolean decays(Tensor parameter) {
        return true;
    }

    /** Forward and backward of one micro-batch; the loss is multiplied by {@code scale} before backward. Returns the unscaled loss. */
    double trainStep(Batch batch, double scale);

    /** The same loss without gradients, for held-out evaluation. */
    double evalLoss(Batch batch);

    /** Writes the trained result (an adapter folder or a model folder). */
    void save(Path dir);
}
