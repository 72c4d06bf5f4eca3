package dev.lolcats4j.generate;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/** Teacher-forced log-probabilities of a token sequence under a model. */
public final class Scorer {

    private Scorer() {}

    /**
     * @return logprobs[t] = log p(ids[t+1] | ids[0..t]), length ids.length - 1
     */
    public static double[] logprobs(DecoderModel model, int[] ids) {
        if (ids.length < 2) {
            throw new BadInputException("token ids: expected at least 2 tokens to score, found " + ids.length);
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Tensor input = Tensors.ofInts(ids, 1, ids.length);
            Tensor logits = model.forward(input);                       // [1, N, V]
            Tensor logp = logits.narrow(1, 0, ids.length - 1).log_softmax(-1);
            Tensor targets = input.narrow(1, 1, ids.length - 1).unsqueeze(-1);
            Tensor picked = logp.gather(-1, targets).squeeze(-1).squeeze(0);
            return Tensors.toDoubles(picked);
        }
    }

    /** Mean negative log-likelihood of {@link #logprobs}. */
    public static double meanNll(double[] logprobs) {
        double sum = 0;
        for (double lp : logprobs) {
            sum -= lp;
        }
        return sum / logprobs.length;
    }
}
