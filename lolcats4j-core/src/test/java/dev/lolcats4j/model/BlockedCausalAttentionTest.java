package dev.lolcats4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class BlockedCausalAttentionTest {

    private static final int B = 2;
    private static final int H = 6;
    private static final int KV = 2;
    private static final int N = 45;
    private static final int D = 16;

    @BeforeAll
    static void natives() {
        Natives.init();
    }

    /** Causal grouped-query softmax attention in double loops: query head h reads kv head h / (H / KV). */
    private static double[][][][] reference(float[] q, float[] k, float[] v) {
        int group = H / KV;
        double[][][][] out = new double[B][H][N][D];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                int kvh = h / group;
                for (int i = 0; i < N; i++) {
                    double[] scores = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double s = 0;
                        for (int c = 0; c < D; c++) {
                            s += (double) q[((b * H + h) * N + i) * D + c] * k[((b * KV + kvh) * N + j) * D + c];
                        }
                        scores[j] = s / Math.sqrt(D);
                        max = Math.max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        scores[j] = Math.exp(scores[j] - max);
                        sum += scores[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        for (int c = 0; c < D; c++) {
                            out[b][h][i][c] += scores[j] / sum * v[((b * KV + kvh) * N + j) * D + c];
                        }
                    }
                }
            }
        }
        return out;
    }

    private static double maxError(Tensor y, double[][][][] expected) {
        float[] got = Tensors.toFloats(y.contiguous());
        double worst = 0;
        int at = 0;
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                for (int i = 0; i < N; i++) {
                    for (int c = 0; c < D; c++) {
                        worst = Math.max(worst, Math.abs(got[at++] - expected[b][h][i][c]));
                    }
                }
            }
        }
        return worst;
    }

    private record Inputs(Tensor q, Tensor k, Tensor v, double[][][][] expected) {}

    private static Inputs inputs() {
        torch.manual_seed(11);
        // Scaled so that some rows are sharp (scores spread over several units).
        Tensor q = torch.randn(new long[] {B, H, N, D}, Tensors.options(Tensors.F32)).mul(Tensors.scalar(1.5));
        Tensor k = torch.randn(new long[] {B, KV, N, D}, Tensors.options(Tensors.F32)).mul(Tensors.scalar(1.5));
        Tensor v = torch.randn(new long[] {B, KV, N, D}, Tensors.options(Tensors.F32));
        return new Inputs(q, k, v, reference(Tensors.toFloats(q), Tensors.toFloats(k), Tensors.toFloats(v)));
    }

    @Test
    void float32ChunksOfEverySizeMatchTheFloat64Attention() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Inputs in = inputs();
            // 1, an uneven 7 (last chunk of 3), 16, exactly N and more than N.
            for (long chunk : new long[] {1, 7, 16, N, 128}) {
                Tensor y = BlockedCausalAttention.forward(in.q(), in.k(), in.v(), H / KV, Tensors.F32, chunk);
                assertEquals(Tensors.F32.value, y.scalar_type().value);
                double error = maxError(y, in.expected());
                assertTrue(error < 1e-5, "chunk " + chunk + ": max error " + error);
            }
        }
    }

    @Test
    void bf16StaysWithinBf16RoundingOfTheFloat64Attention() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Inputs in = inputs();
            Tensor y = BlockedCausalAttention.forward(in.q(), in.k(), in.v(), H / KV, Tensors.BF16, 7);
            double error = maxError(y, in.expected());
            // q, k, v, scores and probabilities each rounded to 8 significant bits (relative 2^-9);
            // |v| < ~4 here: a few roundings of that size, not a wrong mask or head (errors ~1).
            assertTrue(error < 0.06, "max error " + error);
        }
    }

    @Test
    void softmaxAttentionUsesChunksOnlyForPlainPromptsWithoutAutograd() {
        try (PointerScope scope = new PointerScope()) {
            Inputs in = inputs();
            SoftmaxAttention blocked = new SoftmaxAttention(H / KV, Tensors.F32, 0, true);
            double exact;
            double chunked;
            try (NoGradGuard noGrad = new NoGradGuard()) {
                chunked = maxError(blocked.forward(in.q(), in.k(), in.v(), AttentionContext.unpadded(), null), in.expected());
            }
            // With autograd on, the float32 fused kernel: exact to float32 rounding.
            exact = maxError(blocked.forward(in.q(), in.k(), in.v(), AttentionContext.unpadded(), null), in.expected());
            assertTrue(exact < 1e-5, "under autograd: max error " + exact);
            assertTrue(chunked > 1e-4 && chunked < 0.06, "plain prompt without autograd (bf16 chunks): max error " + chunked);
        }
    }

    @Test
    void chunksShrinkForLongPromptsAndMismatchedShapesAreRefused() {
        assertEquals(BlockedCausalAttention.CHUNK, BlockedCausalAttention.chunkFor(12, 1024));
        // 32 heads x 32768 tokens: 32 rows keep one chunk's scores at 2^25 elements.
        assertEquals(32, BlockedCausalAttention.chunkFor(32, 32768));
        assertEquals(16, BlockedCausalAttention.chunkFor(64, 1 << 20));
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Tensor q = Tensors.zeros(Tensors.F32, 1, 4, 8, 16);
            Tensor k = Tensors.zeros(Tensors.F32, 1, 3, 8, 16);
            assertThrows(IllegalArgumentException.class, () -> BlockedCausalAttention.forward(q, k, k, 1, Tensors.F32, 4));
        }
    }
}
