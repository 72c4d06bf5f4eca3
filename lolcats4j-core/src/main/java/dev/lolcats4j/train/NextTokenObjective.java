package dev.lolcats4j.train;

import dev.lolcats4j.model.DecoderModel;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * An objective whose loss is next-token cross-entropy over the whole model (stage 2 and
 * pretraining); subclasses choose the trainable tensors and what to save.
 */
abstract class NextTokenObjective implements Objective {

    protected final DecoderModel model;
    protected final List<Tensor> parameters = new ArrayList<>();

    NextTokenObjective(DecoderModel model) {
        this.model = model;
    }

    @Override
    public List<Tensor> parameters() {
        return parameters;
    }

    @Override
    public double trainStep(Batch batch, double scale) {
        return LanguageModelLoss.backward(model, batch, scale);
    }

    @Override
    public double evalLoss(Batch batch) {
        return LanguageModelLoss.evaluate(model, batch);
    }
}
