package dev.lolcats4j.lolcats;

import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A learned per-query-head feature map phi(x) = act(x W_h [+ b_h]).
 *
 * @param weight [H, d, F] float32 (trainable in stage 1)
 * @param bias [1, H, 1, 1] float32 or null
 */
public record FeatureMap(FeatureMapKind kind, Tensor weight, Tensor bias) {

    private static final double EPS = 1e-12;

    /** Rectangular identity: W[h][i][i] = 1 for i < min(d, F). */
    public static FeatureMap identity(FeatureMapKind kind, int heads, int headDim, int featureDim, boolean withBias) {
        Tensor eye = torch.eye(headDim, featureDim, Tensors.options(Tensors.F32));
        Tensor weight = eye.unsqueeze(0).repeat(heads, 1, 1).contiguous();
        Tensor bias = withBias ? Tensors.zeros(Tensors.F32, 1, heads, 1, 1) : null;
        return new FeatureMap(kind, weight, bias);
    }

    public int featureDim() {
        return (int) weight.size(2);
    }

    public int outputWidth() {
        return kind.outputWidth(featureDim());
    }

    /** x [B, H, N, d] float32 to features [B, H, N, outputWidth]. */
    public Tensor apply(Tensor x) {
        return apply(x, BlockProducts.INPUT);
    }

    /**
     * As {@link #apply(Tensor)}, with the product x W in {@code products}: for
     * {@link BlockProducts#BF16} its operands are rounded to bf16 and the result (and all that
     * follows: bias, activation) is float32, as mixed-precision training runs a linear layer;
     * the weight's gradient then comes from a bf16 GEMM too (7x faster than float32 for the
     * [N, d] x [d, F] per-head product on an avx512_bf16 EPYC). The weight stays float32.
     */
    public Tensor apply(Tensor x, BlockProducts products) {
        Tensor u = products == BlockProducts.BF16
                ? x.to(Tensors.BF16).matmul(weight.to(Tensors.BF16)).to(x.scalar_type())
                : x.matmul(weight.to(x.scalar_type()));
        if (bias != null) {
            u = u.add(bias.to(x.scalar_type()));
        }
        Tensor features = switch (kind) {
            case SOFTMAX_DIM -> Tensors.cat(-1, u.softmax(-1), u.neg().softmax(-1));
            case EXP_DIM -> {
                Tensor max = u.amax(new long[] {-1}, true);
                Tensor min = u.amin(new long[] {-1}, true);
                yield Tensors.cat(-1, u.sub(max).exp(), u.neg().add(min).exp());
            }
            case RELU -> torch.relu(u);
            case POS_ELU -> torch.elu(u).add(Tensors.scalar(1));
        };
        return features.clamp_min(Tensors.scalar(EPS));
    }
}
