package dev.lolcats4j.train;

import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * AdamW (decoupled weight decay) over libtorch tensors, with its moment estimates exposed so
 * that a checkpoint can save and restore them exactly.
 */
public final class AdamW {

    private final List<Tensor> parameters;
    private final List<Tensor> firstMoments = new ArrayList<>();
    private final List<Tensor> secondMoments = new ArrayList<>();
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private long steps;

    private final boolean[] decays;

    /** Every parameter decayed. */
    public AdamW(List<Tensor> parameters, double beta1, double beta2, double eps, double weightDecay) {
        this(parameters, p -> true, beta1, beta2, eps, weightDecay);
    }

    /** @param decays which parameters weight decay applies to (the others get plain Adam updates) */
    public AdamW(List<Tensor> parameters, java.util.function.Predicate<Tensor> decays, double beta1, double beta2, double eps,
            double weightDecay) {
        this.parameters = List.copyOf(parameters);
        this.decays = new boolean[parameters.size()];
        for (int i = 0; i < this.decays.length; i++) {
            this.decays[i] = decays.test(parameters.get(i));
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        for (Tensor p : parameters) {
            firstMoments.add(Tensors.keep(Tensors.zeros(Tensors.F32, Tensors.shape(p))));
            secondMoments.add(Tensors.keep(Tensors.zeros(Tensors.F32, Tensors.shape(p))));
        }
    }

    /** One update with learning rate {@code lr} from the accumulated gradients. */
    public void step(double lr) {
        steps++;
        double correction1 = 1 - Math.pow(beta1, steps);
        double correction2 = 1 - Math.pow(beta2, steps);
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (int i = 0; i < parameters.size(); i++) {
                Tensor p = parameters.get(i);
                Tensor grad = p.grad();
                if (grad == null || !grad.defined()) {
                    continue;
                }
                grad = grad.to(Tensors.F32);
                Tensor m = firstMoments.get(i);
                Tensor v = secondMoments.get(i);
                m.mul_(Tensors.scalar(beta1)).add_(grad, Tensors.scalar(1 - beta1));
                v.mul_(Tensors.scalar(beta2)).addcmul_(grad, grad, Tensors.scalar(1 - beta2));
                Tensor denominator = v.div(Tensors.scalar(correction2)).sqrt().add(Tensors.scalar(eps));
                Tensor update = m.div(Tensors.scalar(correction1)).div(denominator);
                if (weightDecay != 0 && decays[i]) {
                    p.mul_(Tensors.scalar(1 - lr * weightDecay));
                }
                p.sub_(update.mul(Tensors.scalar(lr)).to(p.scalar_type()));
            }
        }
    }

    public void zeroGrad() {
        for (Tensor p : parameters) {
            Tensor grad = p.grad();
            if (grad != null && grad.defined()) {
                grad.zero_();
            }
        }
    }

    /** sqrt of the sum of squared gradients over all parameters. */
    public double gradientNorm() {
        double sum = 0;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (Tensor p : parameters) {
                Tensor grad = p.grad();
                if (grad != null && grad.defined()) {
                    sum += grad.to(Tensors.F64).pow(Tensors.scalar(2)).sum().item_double();
                }
            }
        }
        return Math.sqrt(sum);
    }

    /** Scales gradients so that their global norm is at most {@code maxNorm}; returns the norm before. */
    public double clipGradients(double maxNorm) {
        double norm = gradientNorm();
        if (maxNorm > 0 && norm > maxNorm) {
            try (NoGradGuard noGrad = new NoGradGuard()) {
                for (Tensor p : parameters) {
                    Tensor grad = p.grad();
                    if (grad != null && grad.defined()) {
                        grad.mul_(Tensors.scalar(maxNorm / (norm + 1e-6)));
                    }
                }
            }
        }
        return norm;
    }

    public List<Tensor> parameters() {
        return parameters;
    }

    public List<Tensor> firstMoments() {
        return firstMoments;
    }

    public List<Tensor> secondMoments() {
        return secondMoments;
    }

    public long steps() {
        return steps;
    }

    public void setSteps(long steps) {
        this.steps = steps;
    }
}
