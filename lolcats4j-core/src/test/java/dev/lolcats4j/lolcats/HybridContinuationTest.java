package dev.lolcats4j.lolcats;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.LayerCache;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.stream.Stream;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A prefill continued chunk by chunk ({@link HybridState#continueWith}) against one prefill of
 * everything (the parallel form, itself tested against the quadratic definition), in float64:
 * the chunks' outputs, and the next decode step from either state, must agree.
 */
class HybridContinuationTest {

    private static final int H = 4;
    private static final int HKV = 2;
    private static final int D = 8;
    private static final int WINDOW = 3;

    @BeforeAll
    static void init() {
        Natives.init();
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(AttentionKind.HYBRID_SW, new int[] {5, 7, 11}),   // ring full from the start
                Arguments.of(AttentionKind.HYBRID_SW, new int[] {2, 1, 9, 2}),  // ring not yet full; a one-token step between
                Arguments.of(AttentionKind.HYBRID_SW, new int[] {1, 200}),      // a chunk over several 32-block segments
                Arguments.of(AttentionKind.LINEAR, new int[] {4, 6, 13}));
    }

    @ParameterizedTest(name = "{0} chunks {1}")
    @MethodSource("cases")
    void chunksEqualOnePrefillAndTheNextStepAgrees(AttentionKind kind, int[] chunks) {
        try (NoGradGuard g = new NoGradGuard()) {
            torch.manual_seed(7);
            HybridAttention attention = new HybridAttention(params(kind), H / HKV);
            int total = java.util.Arrays.stream(chunks).sum();
            Tensor q = random(1, H, total + 1, D);
            Tensor k = random(1, HKV, total + 1, D);
            Tensor v = random(1, HKV, total + 1, D);
            LayerCache whole = attention.newCache();
            Tensor expected = attention.forward(q.narrow(2, 0, total), k.narrow(2, 0, total), v.narrow(2, 0, total),
                    AttentionContext.unpadded(), whole);
            LayerCache pieces = attention.newCache();
            int at = 0;
            for (int c : chunks) {
                Tensor y = attention.forward(q.narrow(2, at, c), k.narrow(2, at, c), v.narrow(2, at, c),
                        new AttentionContext(null, at), pieces);
                HybridFormsTest.assertClose(expected.narrow(2, at, c), y, 1e-10, "chunk at " + at);
                at += c;
            }
            Tensor stepWhole = attention.forward(q.narrow(2, total, 1), k.narrow(2, total, 1), v.narrow(2, total, 1),
                    new AttentionContext(null, total), whole);
            Tensor stepPieces = attention.forward(q.narrow(2, total, 1), k.narrow(2, total, 1), v.narrow(2, total, 1),
                    new AttentionContext(null, total), pieces);
            HybridFormsTest.assertClose(stepWhole, stepPieces, 1e-10, "decode step after the chunks");
        }
    }

    @Test
    void theParallelContinuationRunsForTheSlidingWindowButNotForTheTerraceOrASparseCache() {
        try (NoGradGuard g = new NoGradGuard()) {
            torch.manual_seed(3);
            Tensor q = random(1, H, 9, D);
            Tensor k = random(1, HKV, 9, D);
            Tensor v = random(1, HKV, 9, D);
            for (AttentionKind kind : AttentionKind.values()) {
                HybridParams p = params(kind);
                HybridState state = (HybridState) new HybridAttention(p, H / HKV).newCache();
                state.prefill(p, k.narrow(2, 0, 4), v.narrow(2, 0, 4), null);
                Tensor y = state.continueWith(p, q.narrow(2, 4, 5), k.narrow(2, 4, 5), v.narrow(2, 4, 5));
                if (kind == AttentionKind.HYBRID_TK) {
                    assertNull(y, "terrace");
                } else {
                    assertNotNull(y, kind.toString());
                    assertTrue(y.size(2) == 5);
                }
            }
            HybridParams sw = params(AttentionKind.HYBRID_SW);
            HybridState sparse = (HybridState) new HybridAttention(sw, H / HKV, 2).newCache();
            new HybridAttention(sw, H / HKV, 2).forward(q.narrow(2, 0, 4), k.narrow(2, 0, 4), v.narrow(2, 0, 4),
                    AttentionContext.unpadded(), sparse);
            assertNull(sparse.continueWith(sw, q.narrow(2, 4, 5), k.narrow(2, 4, 5), v.narrow(2, 4, 5)), "sparse cache");
        }
    }

    private static HybridParams params(AttentionKind kind) {
        return new HybridParams(kind, WINDOW,
                new FeatureMap(FeatureMapKind.SOFTMAX_DIM, random(H, D, 5).mul(Tensors.scalar(0.5)), null),
                new FeatureMap(FeatureMapKind.SOFTMAX_DIM, random(H, D, 5).mul(Tensors.scalar(0.5)), null),
                random(1, H, 1, 1), false);
    }

    private static Tensor random(long... shape) {
        return torch.randn(shape, Tensors.options(Tensors.F64));
    }
}
