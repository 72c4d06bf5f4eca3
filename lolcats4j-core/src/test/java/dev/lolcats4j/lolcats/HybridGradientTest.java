package dev.lolcats4j.lolcats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Finite-difference check, in float64, of the chunked form's gradients (libtorch autograd)
 * with respect to the feature-map weights, the window factors and q.
 */
class HybridGradientTest {

    private static final int B = 1;
    private static final int H = 2;
    private static final int N = 11;
    private static final int D = 4;
    private static final int F = 3;
    private static final int W = 4;
    private static final double STEP = 1e-6;

    @BeforeAll
    static void natives() {
        Natives.init();
    }

    @ParameterizedTest
    @EnumSource(AttentionKind.class)
    void autogradMatchesFiniteDifferences(AttentionKind kind) {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(7);
            double[] wq = Tensors.toDoubles(HybridFormsTest.random(H, D, F));
            double[] wk = Tensors.toDoubles(HybridFormsTest.random(H, D, F));
            double[] factors = Tensors.toDoubles(HybridFormsTest.random(1, H, 1, 1));
            double[] q = Tensors.toDoubles(HybridFormsTest.random(B, H, N, D));
            Tensor k = HybridFormsTest.random(B, H, N, D);
            Tensor v = HybridFormsTest.random(B, H, N, D);
            Tensor projection = HybridFormsTest.random(B, H, N, D);

            Tensor wqT = leaf(wq, H, D, F);
            Tensor wkT = leaf(wk, H, D, F);
            Tensor factorsT = leaf(factors, 1, H, 1, 1);
            Tensor qT = leaf(q, B, H, N, D);
            loss(kind, wqT, wkT, factorsT, qT, k, v, projection).backward();

            Function<double[][], Double> lossOf = a -> loss(kind, Tensors.ofDoubles(a[0], H, D, F), Tensors.ofDoubles(a[1], H, D, F),
                    Tensors.ofDoubles(a[2], 1, H, 1, 1), Tensors.ofDoubles(a[3], B, H, N, D), k, v, projection).item_double();
            double[][] point = {wq, wk, factors, q};
            Tensor[] grads = {wqT.grad(), wkT.grad(), factorsT.grad(), qT.grad()};
            String[] names = {"feature_map_q", "feature_map_k", "window_factors", "q"};
            for (int which = 0; which < point.length; which++) {
                if (kind == AttentionKind.LINEAR && which == 2) {
                    continue; // pure linear attention has no window, so no window factor
                }
                double[] analytic = Tensors.toDoubles(grads[which]);
                for (int index = 0; index < point[which].length; index += Math.max(1, point[which].length / 7)) {
                    double numeric = centralDifference(lossOf, point, which, index);
                    assertEquals(numeric, analytic[index], 1e-6 * Math.max(1, Math.abs(numeric)),
                            kind + " d loss / d " + names[which] + "[" + index + "]");
                }
            }
        }
    }

    private static double centralDifference(Function<double[][], Double> f, double[][] point, int which, int index) {
        double original = point[which][index];
        point[which][index] = original + STEP;
        double up = f.apply(point);
        point[which][index] = original - STEP;
        double down = f.apply(point);
        point[which][index] = original;
        return (up - down) / (2 * STEP);
    }

    private static Tensor leaf(double[] values, long... shape) {
        return Tensors.ofDoubles(values, shape).set_requires_grad(true);
    }

    private static Tensor loss(AttentionKind kind, Tensor wq, Tensor wk, Tensor factors, Tensor q, Tensor k, Tensor v, Tensor projection) {
        HybridParams p = new HybridParams(kind, W, new FeatureMap(FeatureMapKind.SOFTMAX_DIM, wq, null),
                new FeatureMap(FeatureMapKind.SOFTMAX_DIM, wk, null), factors, false);
        // Segments of one block: gradients must also flow through the state carried across segments.
        return HybridKernels.chunked(p, q, k, v, null, 1).mul(projection).sum();
    }
}
