package dev.lolcats4j.lolcats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The three forms of hybrid attention agree: chunked (training/prefill) == quadratic
 * (explicit masks, built independently from the definitions) == recurrent (decode), on random
 * inputs in float64, for several N, W, F including N < W and N not a multiple of W.
 */
class HybridFormsTest {

    private static final ScalarType F64 = Tensors.F64;
    private static final int B = 2;
    private static final int H = 3;
    private static final int D = 8;

    @BeforeAll
    static void natives() {
        Natives.init();
    }

    static Stream<Arguments> shapes() {
        List<Arguments> out = new ArrayList<>();
        for (AttentionKind kind : AttentionKind.values()) {
            for (FeatureMapKind map : new FeatureMapKind[] {FeatureMapKind.SOFTMAX_DIM, FeatureMapKind.POS_ELU}) {
                int[][] nwf = {{1, 4, 4}, {3, 8, 4}, {8, 8, 6}, {13, 4, 4}, {29, 8, 8}, {40, 4, 8}};
                for (int[] c : nwf) {
                    out.add(Arguments.of(kind, map, c[0], c[1], c[2]));
                }
            }
        }
        out.add(Arguments.of(AttentionKind.HYBRID_SW, FeatureMapKind.EXP_DIM, 21, 4, 4));
        out.add(Arguments.of(AttentionKind.HYBRID_SW, FeatureMapKind.RELU, 21, 4, 4));
        return out.stream();
    }

    static HybridParams randomParams(AttentionKind kind, FeatureMapKind map, int window, int featureDim, boolean affine) {
        FeatureMap fq = new FeatureMap(map, torch.randn(new long[] {H, D, featureDim}, Tensors.options(F64)).mul(Tensors.scalar(0.5)), null);
        FeatureMap fk = new FeatureMap(map, torch.randn(new long[] {H, D, featureDim}, Tensors.options(F64)).mul(Tensors.scalar(0.5)), null);
        Tensor factors = torch.randn(new long[] {1, H, 1, 1}, Tensors.options(F64));
        return new HybridParams(kind, window, fq, fk, factors, affine);
    }

    static Tensor random(long... shape) {
        return torch.randn(shape, Tensors.options(F64));
    }

    @ParameterizedTest(name = "{0} {1} N={2} W={3} F={4}")
    @MethodSource("shapes")
    void chunkedEqualsQuadratic(AttentionKind kind, FeatureMapKind map, int n, int window, int featureDim) {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(n * 31L + window);
            HybridParams p = randomParams(kind, map, window, featureDim, n % 2 == 0);
            Tensor q = random(B, H, n, D);
            Tensor k = random(B, H, n, D);
            Tensor v = random(B, H, n, D);
            assertClose(Reference.attention(p, q, k, v), HybridKernels.quadratic(p, q, k, v, null), 1e-10, "quadratic vs loops");
            Tensor expected = Reference.attention(p, q, k, v);
            assertClose(expected, HybridKernels.chunked(p, q, k, v, null), 1e-10, "chunked vs loops");
            // Run over segments of 1 and 2 blocks (state and previous block carried across).
            assertClose(expected, HybridKernels.chunked(p, q, k, v, null, 1), 1e-10, "chunked, 1-block segments");
            assertClose(expected, HybridKernels.chunked(p, q, k, v, null, 2), 1e-10, "chunked, 2-block segments");
        }
    }

    @ParameterizedTest(name = "{0} {1} N={2} W={3} F={4}")
    @MethodSource("shapes")
    void recurrentDecodeEqualsParallel(AttentionKind kind, FeatureMapKind map, int n, int window, int featureDim) {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(n * 17L + featureDim);
            HybridParams p = randomParams(kind, map, window, featureDim, false);
            int group = 1;
            Tensor q = random(B, H, n, D);
            Tensor k = random(B, H, n, D);
            Tensor v = random(B, H, n, D);
            int prefill = Math.max(1, n / 3);
            HybridState state = (HybridState) new HybridAttention(p, group).newCache();
            state.prefill(p, k.narrow(2, 0, prefill), v.narrow(2, 0, prefill), null);
            for (int t = prefill; t < n; t++) {
                Tensor y = state.step(p, q.narrow(2, t, 1), k.narrow(2, t, 1), v.narrow(2, t, 1));
                // Decoding sees the token as the newest one; the terrace is aligned to the
                // sequence end, so compare with the parallel form over the prefix [0, t].
                Tensor expected = kind == AttentionKind.HYBRID_TK
                        ? Reference.attention(p, q.narrow(2, 0, t + 1), k.narrow(2, 0, t + 1), v.narrow(2, 0, t + 1)).narrow(2, t, 1)
                        : Reference.attention(p, q, k, v).narrow(2, t, 1);
                assertClose(expected, y, 1e-10, "step " + t);
            }
        }
    }

    static void assertClose(Tensor expected, Tensor actual, double tolerance, String what) {
        assertEquals(Tensors.shape(expected).length, Tensors.shape(actual).length, what + ": rank");
        double diff = expected.sub(actual).abs().max().item_double();
        assertTrue(diff <= tolerance, what + ": max |difference| " + diff + " > " + tolerance);
    }

    /**
     * Independent reference written straight from the method's definitions with Java loops over
     * i and j (lolcats-method.md section 3), sharing only the feature maps with the code under test.
     */
    static final class Reference {

        static Tensor attention(HybridParams p, Tensor q, Tensor k, Tensor v) {
            int b = (int) q.size(0);
            int h = (int) q.size(1);
            int n = (int) q.size(2);
            int d = (int) q.size(3);
            double[] qa = Tensors.toDoubles(q);
            double[] ka = Tensors.toDoubles(k);
            double[] va = Tensors.toDoubles(v);
            Tensor fq = p.featureQ().apply(q);
            Tensor fk = p.featureK().apply(k);
            int fw = (int) fq.size(3);
            double[] fqa = Tensors.toDoubles(fq);
            double[] fka = Tensors.toDoubles(fk);
            double[] gamma = Tensors.toDoubles(p.gamma());
            double[] lambda = Tensors.toDoubles(p.lambda());
            int w = p.window();
            int shift = p.kind() == AttentionKind.HYBRID_TK ? (w - n % w) % w : 0;
            double[] out = new double[b * h * n * d];
            for (int bb = 0; bb < b; bb++) {
                for (int hh = 0; hh < h; hh++) {
                    int base = (bb * h + hh) * n;
                    for (int i = 0; i < n; i++) {
                        boolean[] inWindow = new boolean[n];
                        boolean[] inLinear = new boolean[n];
                        for (int j = 0; j <= i; j++) {
                            switch (p.kind()) {
                                case HYBRID_SW -> {
                                    inWindow[j] = i - j < w;
                                    inLinear[j] = i - j >= w;
                                }
                                case HYBRID_TK -> {
                                    int bi = (i + shift) / w;
                                    int bj = (j + shift) / w;
                                    inWindow[j] = bj >= bi - 1;
                                    inLinear[j] = bj <= bi - 2;
                                }
                                case LINEAR -> inLinear[j] = true;
                            }
                        }
                        double m = Double.NEGATIVE_INFINITY;
                        double[] s = new double[n];
                        for (int j = 0; j <= i; j++) {
                            if (inWindow[j]) {
                                double dot = 0;
                                for (int x = 0; x < d; x++) {
                                    dot += qa[(base + i) * d + x] * ka[(base + j) * d + x];
                                }
                                s[j] = dot / Math.sqrt(d);
                                m = Math.max(m, s[j]);
                            }
                        }
                        double den = 0;
                        double[] num = new double[d];
                        for (int j = 0; j <= i; j++) {
                            double weight = 0;
                            if (inWindow[j]) {
                                weight = gamma[hh] * Math.exp(s[j] - m);
                            } else if (inLinear[j]) {
                                double dot = 0;
                                for (int f = 0; f < fw; f++) {
                                    dot += fqa[(base + i) * fw + f] * fka[(base + j) * fw + f];
                                }
                                weight = (p.kind() == AttentionKind.LINEAR ? 1 : lambda[hh]) * dot;
                            }
                            den += weight;
                            for (int x = 0; x < d; x++) {
                                num[x] += weight * va[(base + j) * d + x];
                            }
                        }
                        for (int x = 0; x < d; x++) {
                            out[(base + i) * d + x] = num[x] / den;
                        }
                    }
                }
            }
            return Tensors.ofDoubles(out, b, h, n, d);
        }
    }
}
