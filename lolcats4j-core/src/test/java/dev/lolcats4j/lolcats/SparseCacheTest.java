package dev.lolcats4j.lolcats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.LayerCache;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.Arrays;
import java.util.Random;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The sparse cache in float64 against {@link SparseCacheReference}, the definitions written out
 * over explicit sets of positions: block-wise prefill, per-token decode, the two limits (C = 0 is
 * the plain hybrid, C >= N is softmax attention) and eviction order on a hand-made example.
 */
class SparseCacheTest {

    private static final int H = 4;
    private static final int HKV = 2;
    private static final int D = 6;
    private static final int F = 3;
    private static final int W = 4;
    private static final double TOLERANCE = 1e-10;

    @BeforeAll
    static void init() {
        Natives.init();
    }

    /** Random inputs and parameters of one sequence, as arrays (reference) and float64 tensors. */
    private record Case(double[][][] q, double[][][] k, double[][][] v, double[][][] wq, double[][][] wk, double[] logits) {

        static Case random(long seed, int n) {
            Random random = new Random(seed);
            double[] logits = new double[H];
            for (int h = 0; h < H; h++) {
                logits[h] = random.nextGaussian();
            }
            return new Case(gaussian(random, H, n, D), gaussian(random, HKV, n, D), gaussian(random, HKV, n, D),
                    gaussian(random, H, D, F), gaussian(random, H, D, F), logits);
        }

        HybridParams params() {
            return new HybridParams(AttentionKind.HYBRID_SW, W, new FeatureMap(FeatureMapKind.SOFTMAX_DIM, tensor(wq), null),
                    new FeatureMap(FeatureMapKind.SOFTMAX_DIM, tensor(wk), null),
                    Tensors.ofDoubles(logits, 1, H, 1, 1), false);
        }

        SparseCacheReference reference(int cacheSize) {
            double[] gamma = new double[H];
            double[] lambda = new double[H];
            for (int h = 0; h < H; h++) {
                gamma[h] = 1 / (1 + Math.exp(-logits[h]));
                lambda[h] = 1;
            }
            return new SparseCacheReference(q, k, v, wq, wk, gamma, lambda, W, cacheSize);
        }

        /** Tokens [from, until) as [1, heads, n, D]. */
        static Tensor tokens(double[][][] x, int from, int until) {
            double[][][] part = new double[x.length][][];
            for (int h = 0; h < x.length; h++) {
                part[h] = Arrays.copyOfRange(x[h], from, until);
            }
            Tensor t = tensor(part);
            return t.view(1, x.length, until - from, D);
        }
    }

    @Test
    void prefillFollowsTheBlockDefinition() {
        try (NoGradGuard g = new NoGradGuard()) {
            for (int n : new int[] {3, 4, 9, 23, 24}) {
                Case c = Case.random(n, n);
                SparseCacheReference reference = c.reference(3);
                double[][][] expected = reference.prefill(n);
                SparseCacheKernels.Prefill prefill = SparseCacheKernels.prefill(c.params(), 3, H / HKV,
                        Case.tokens(c.q, 0, n), Case.tokens(c.k, 0, n), Case.tokens(c.v, 0, n), null, true);
                assertClose(flatten(expected), Tensors.toDoubles(prefill.output()), "prefill output, n = " + n);
                assertClose(flatten(reference.s), Tensors.toDoubles(prefill.memory().s()), "S, n = " + n);
                assertClose(flatten(reference.z), Tensors.toDoubles(prefill.memory().z()), "z, n = " + n);
                assertCacheHolds(c, reference, prefill.memory(), "n = " + n);
            }
        }
    }

    /**
     * The two forms decide alike: the block-wise prefill is exactly per-token eviction (the decode
     * definition) run from the first token, each error taken against its block's starting state.
     */
    @Test
    void prefillIsPerTokenEviction() {
        try (NoGradGuard g = new NoGradGuard()) {
            int n = 37;
            Case c = Case.random(13, n);
            SparseCacheReference reference = c.reference(2);
            double[][][] expected = new double[H][n][];
            for (int t = 0; t < n; t++) {
                double[][] step = reference.step(t);
                for (int h = 0; h < H; h++) {
                    expected[h][t] = step[h];
                }
            }
            Tensor y = new HybridAttention(c.params(), H / HKV, 2).forward(Case.tokens(c.q, 0, n), Case.tokens(c.k, 0, n),
                    Case.tokens(c.v, 0, n), AttentionContext.unpadded(), null);
            assertClose(flatten(expected), Tensors.toDoubles(y), "prefill vs per-token eviction");
        }
    }

    @Test
    void decodeFollowsThePerTokenDefinitionAtEveryStep() {
        try (NoGradGuard g = new NoGradGuard()) {
            int prompt = 9;
            int total = 30;
            Case c = Case.random(7, total);
            SparseCacheReference reference = c.reference(3);
            reference.prefill(prompt);
            HybridAttention attention = new HybridAttention(c.params(), H / HKV, 3);
            LayerCache state = attention.newCache();
            attention.forward(Case.tokens(c.q, 0, prompt), Case.tokens(c.k, 0, prompt), Case.tokens(c.v, 0, prompt),
                    AttentionContext.unpadded(), state);
            for (int t = prompt; t < total; t++) {
                double[][] expected = reference.step(t);
                Tensor y = attention.forward(Case.tokens(c.q, t, t + 1), Case.tokens(c.k, t, t + 1), Case.tokens(c.v, t, t + 1),
                        new AttentionContext(null, t), state);
                assertClose(flatten(expected), Tensors.toDoubles(y), "decode step " + t);
            }
            HybridState hybrid = (HybridState) state;
            assertClose(flatten(reference.s), Tensors.toDoubles(hybrid.s), "S after decoding");
            assertCacheHolds(c, reference, new SparseCacheKernels.Memory(hybrid.cacheKeys, hybrid.cacheValues, hybrid.cacheValid,
                    hybrid.s, hybrid.z), "after decoding");
        }
    }

    @Test
    void aCacheThatHoldsEveryPairIsSoftmaxAttention() {
        try (NoGradGuard g = new NoGradGuard()) {
            int n = 21;
            Case c = Case.random(3, n);
            double[] expected = flatten(softmaxAttention(c, n));
            HybridAttention attention = new HybridAttention(c.params(), H / HKV, n);
            Tensor y = attention.forward(Case.tokens(c.q, 0, n), Case.tokens(c.k, 0, n), Case.tokens(c.v, 0, n),
                    AttentionContext.unpadded(), null);
            assertClose(expected, Tensors.toDoubles(y), "prefill with C = N");
            // Token by token after a one-token prefill: every pair that leaves the window is cached.
            LayerCache state = attention.newCache();
            double[][][] steps = new double[H][n][];
            for (int t = 0; t < n; t++) {
                double[] out = Tensors.toDoubles(attention.forward(Case.tokens(c.q, t, t + 1), Case.tokens(c.k, t, t + 1),
                        Case.tokens(c.v, t, t + 1), new AttentionContext(null, t), state));
                for (int h = 0; h < H; h++) {
                    steps[h][t] = Arrays.copyOfRange(out, h * D, (h + 1) * D);
                }
            }
            assertClose(expected, flatten(steps), "decode with C = N");
        }
    }

    @Test
    void noCacheIsTheHybridBitForBit() {
        try (NoGradGuard g = new NoGradGuard()) {
            int n = 37;
            Case c = Case.random(5, n);
            HybridParams p = c.params();
            Tensor q = Case.tokens(c.q, 0, n);
            Tensor k = Case.tokens(c.k, 0, n);
            Tensor v = Case.tokens(c.v, 0, n);
            Tensor plain = HybridKernels.chunked(p, q, dev.lolcats4j.model.Heads.expand(k, H / HKV),
                    dev.lolcats4j.model.Heads.expand(v, H / HKV), null);
            Tensor viaCacheOfZero = new HybridAttention(p, H / HKV, 0).forward(q, k, v, AttentionContext.unpadded(), null);
            assertTrue(plain.equal(viaCacheOfZero), "C = 0 must be today's hybrid, bit for bit");
        }
    }

    /**
     * With an empty linear state every prediction is zero, so the error is ||v||^2: the two
     * largest values stay. After folding one pair A alone, S recalls v_A for every key, so the
     * error becomes ||v - v_A||^2.
     */
    @Test
    void evictionKeepsThePairsTheStateRecallsWorst() {
        try (NoGradGuard g = new NoGradGuard()) {
            int heads = 1;
            int dim = 2;
            HybridParams p = new HybridParams(AttentionKind.HYBRID_SW, 4,
                    FeatureMap.identity(FeatureMapKind.SOFTMAX_DIM, heads, dim, 2, false),
                    FeatureMap.identity(FeatureMapKind.SOFTMAX_DIM, heads, dim, 2, false),
                    Tensors.zeros(Tensors.F32, 1, heads, 1, 1), false);
            Tensor keys = Tensors.ofFloats(new float[] {0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f}, 1, 1, 4, dim);
            // ||v||^2 = 1, 9, 4, 2.
            Tensor values = Tensors.ofFloats(new float[] {1, 0, 3, 0, 0, 2, 1, 1}, 1, 1, 4, dim);
            SparseCacheKernels.Memory empty = new SparseCacheKernels.Memory(Tensors.zeros(Tensors.F32, 1, 1, 2, dim),
                    Tensors.zeros(Tensors.F32, 1, 1, 2, dim), Tensors.zeros(Tensors.F32, 1, 1, 2),
                    Tensors.zeros(Tensors.F32, 1, 1, 4, dim), Tensors.zeros(Tensors.F32, 1, 1, 4));
            SparseCacheKernels.Memory first = SparseCacheKernels.compete(p, 1, empty, keys, values, Tensors.ones(Tensors.F32, 1, 1, 4),
                    empty.s(), empty.z());
            assertArrayEquals(new float[] {3, 0, 0, 2}, Tensors.toFloats(first.cacheValues()), "keeps ||v||^2 = 9 and 4");
            // Now S holds (1, 0) and (1, 1): prediction is their phi-weighted mix, closest to both.
            // A fresh state that folded only v_A = (1, 0) predicts (1, 0) for any key.
            Tensor phiA = p.featureK().apply(keys.narrow(2, 0, 1));                         // [1, 1, 1, 4]
            SparseCacheKernels.Memory recallsA = new SparseCacheKernels.Memory(Tensors.zeros(Tensors.F32, 1, 1, 2, dim),
                    Tensors.zeros(Tensors.F32, 1, 1, 2, dim), Tensors.zeros(Tensors.F32, 1, 1, 2),
                    phiA.transpose(2, 3).matmul(values.narrow(2, 0, 1)), phiA.view(1, 1, 4));
            // Errors against v_A = (1, 0): 0, 4, 5, 1: keep (0, 2) and (3, 0); fold (1, 0) and (1, 1).
            SparseCacheKernels.Memory second = SparseCacheKernels.compete(p, 1, recallsA, keys, values,
                    Tensors.ones(Tensors.F32, 1, 1, 4), recallsA.s(), recallsA.z());
            assertArrayEquals(new float[] {0, 2, 3, 0}, Tensors.toFloats(second.cacheValues()), "keeps errors 5 and 4");
            Tensor folded = phiA.transpose(2, 3).matmul(values.narrow(2, 0, 1))
                    .add(phiA.transpose(2, 3).matmul(values.narrow(2, 0, 1)))
                    .add(p.featureK().apply(keys.narrow(2, 3, 1)).transpose(2, 3).matmul(values.narrow(2, 3, 1)));
            assertArrayEquals(Tensors.toFloats(folded), Tensors.toFloats(second.s()), 1e-6f, "S gained (1, 0) and (1, 1)");
        }
    }

    /** Plain causal softmax attention, out[h][t][i]. */
    private static double[][][] softmaxAttention(Case c, int n) {
        double[][][] out = new double[H][n][D];
        for (int h = 0; h < H; h++) {
            int g = h / (H / HKV);
            for (int t = 0; t < n; t++) {
                double[] scores = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= t; j++) {
                    double dot = 0;
                    for (int i = 0; i < D; i++) {
                        dot += c.q[h][t][i] * c.k[g][j][i];
                    }
                    scores[j] = dot / Math.sqrt(D);
                    max = Math.max(max, scores[j]);
                }
                double sum = 0;
                for (int j = 0; j <= t; j++) {
                    scores[j] = Math.exp(scores[j] - max);
                    sum += scores[j];
                }
                for (int j = 0; j <= t; j++) {
                    for (int i = 0; i < D; i++) {
                        out[h][t][i] += scores[j] / sum * c.v[g][j][i];
                    }
                }
            }
        }
        return out;
    }

    /** The cached pairs of each key/value head, as sets of values, equal the reference's. */
    private static void assertCacheHolds(Case c, SparseCacheReference reference, SparseCacheKernels.Memory memory, String what) {
        double[] values = Tensors.toDoubles(memory.cacheValues());
        double[] valid = Tensors.toDoubles(memory.cacheValid());
        int slots = (int) memory.cacheValid().size(2);
        for (int g = 0; g < HKV; g++) {
            java.util.List<String> actual = new java.util.ArrayList<>();
            for (int slot = 0; slot < slots; slot++) {
                if (valid[g * slots + slot] > 0) {
                    actual.add(Arrays.toString(Arrays.copyOfRange(values, (g * slots + slot) * D, (g * slots + slot + 1) * D)));
                }
            }
            java.util.List<String> expected = new java.util.ArrayList<>();
            for (int j : reference.cache.get(g)) {
                expected.add(Arrays.toString(c.v[g][j]));
            }
            actual.sort(null);
            expected.sort(null);
            assertEquals(expected, actual, "cached pairs of head " + g + ", " + what);
        }
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], TOLERANCE, what + " at " + i);
        }
    }

    private static double[][][] gaussian(Random random, int a, int b, int c) {
        double[][][] out = new double[a][b][c];
        for (double[][] x : out) {
            for (double[] y : x) {
                for (int i = 0; i < c; i++) {
                    y[i] = random.nextGaussian();
                }
            }
        }
        return out;
    }

    private static Tensor tensor(double[][][] x) {
        return Tensors.ofDoubles(flatten(x), x.length, x[0].length, x[0][0].length);
    }

    private static double[] flatten(double[][][] x) {
        return Arrays.stream(x).flatMap(Arrays::stream).flatMapToDouble(Arrays::stream).toArray();
    }

    private static double[] flatten(double[][] x) {
        return Arrays.stream(x).flatMapToDouble(Arrays::stream).toArray();
    }
}
