package dev.lolcats4j.train;

import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelWriter;
import dev.lolcats4j.torch.Tensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Training a small Llama from scratch: every weight trains, float32 master weights with
 * bf16 matmuls, next-token cross-entropy.
 */
public final class Pretraining implements Objective {

    private final DecoderModel model;
    private final List<Tensor> parameters;

    public Pretraining(DecoderModel model, boolean bf16Matmuls) {
        this.model = model;
        this.parameters = new ArrayList<>(model.namedWeights().values());
        parameters.forEach(t -> t.set_requires_grad(true));
        if (bf16Matmuls) {
            model.setMatmulType(Tensors.BF16);
        }
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

    @Override
    public void save(Path dir) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            ModelWriter.save(model, dir, Tensors.F32);
        }
    }
}
