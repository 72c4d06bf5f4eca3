package dev.lolcats4j.train;

import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelWriter;
import dev.lolcats4j.torch.Tensors;
import java.nio.file.Path;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Training a small Llama from scratch: every weight trains, float32 master weights with
 * bf16 matmuls, next-token cross-entropy.
 */
public final class Pretraining extends NextTokenObjective {


    public Pretraining(DecoderModel model, boolean bf16Matmuls) {
        super(model);
        parameters.addAll(model.namedWeights().values());
        parameters.forEach(t -> t.set_requires_grad(true));
        if (bf16Matmuls) {
            model.setMatmulType(Tensors.BF16);
        }
    }

    @Override
    public void save(Path dir) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            ModelWriter.save(model, dir, Tensors.F32);
        }
    }
}
