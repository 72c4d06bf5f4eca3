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


    private final java.util.Set<Tensor> decayExempt = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

    public Pretraining(DecoderModel model, boolean bf16Matmuls) {
        super(model);
        model.namedWeights().forEach((name, tensor) -> {
            parameters.add(tensor);
            if (isNormOrBias(name)) {
                decayExempt.add(tensor);
            }
        });
        parameters.forEach(t -> t.set_requires_grad(true));
        if (bf16Matmuls) {
            model.setMatmulType(Tensors.BF16);
        }
    }

    /** RMSNorm gains (input, post-attention and final norm) and projection biases. */
    static boolean isNormOrBias(String name) {
        return name.endsWith("norm.weight") || name.endsWith(".bias");
    }

    /** Norm weights and biases are not decayed; embeddings and projection weights are. */
    @Override
    public boolean decays(Tensor parameter) {
        return !decayExempt.contains(parameter);
    }

    @Override
    public void save(Path dir) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            ModelWriter.save(model, dir, Tensors.F32);
        }
    }
}
