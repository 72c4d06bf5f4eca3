package dev.lolcats4j.lolcats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.kernels.VectorKernels;
import dev.lolcats4j.model.Attention;
import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.LayerCache;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Java recurrent step against libtorch's ({@link HybridState#step}, itself tested against
 * the parallel forms): two states prefilled alike from a padded batch, then stepped token by
 * token, one each way; outputs and every state buffer must agree at every step.
 */
class HybridDecodeStepTest {

    private static final int B = 2;
    private static final int H = 4;
    private static final int HKV = 2;
    private static final int D = 20;   // not a multiple of the vector width
    private static final int PROMPT = 7;

    @BeforeAll
    static void init() {
        Natives.init();
        assertTrue(VectorKernels.enabled(), String.valueOf(VectorKernels.unavailableReason()));
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (AttentionKind kind : AttentionKind.values()) {
            for (FeatureMapKind map : FeatureMapKind.values()) {
                out.add(Arguments.of(kind, map, map == FeatureMapKind.SOFTMAX_DIM));
            }
        }
        out.add(Arguments.of(AttentionKind.HYBRID_SW, FeatureMapKind.SOFTMAX_DIM, false));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} affine={2}")
    @MethodSource("cases")
    void javaStepMatchesLibtorchStep(AttentionKind kind, FeatureMapKind map, boolean affine) {
        try (NoGradGuard g = new NoGradGuard()) {
            torch.manual_seed(kind.ordinal() * 10L + map.ordinal());
            int featureDim = 6;
            Tensor biasQ = map == FeatureMapKind.RELU ? random(1, H, 1, 1) : null;
            HybridParams p = new HybridParams(kind, 3,
                    new FeatureMap(map, random(H, D, featureDim).mul(Tensors.scalar(0.5)), biasQ),
                    new FeatureMap(map, random(H, D, featureDim).mul(Tensors.scalar(0.5)), null),
                    random(1, H, 1, 1), affine);
            HybridAttention attention = new HybridAttention(p, H / HKV);
            LayerCache viaLibtorch = attention.newCache();
            LayerCache viaJava = attention.newCache();
            // Prefill both alike; sequence 1 has two padding tokens in front.
            Tensor valid = Tensors.ofFloats(new float[] {1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, B, PROMPT).gt(Tensors.scalar(0.5));
            Tensor q0 = random(B, H, PROMPT, D);
            Tensor k0 = random(B, HKV, PROMPT, D);
            Tensor v0 = random(B, HKV, PROMPT, D);
            attention.forward(q0, k0, v0, new AttentionContext(valid, 0), viaLibtorch);
            attention.forward(q0, k0, v0, new AttentionContext(valid, 0), viaJava);
            Attention.DecodeShape shape = new Attention.DecodeShape(B, H, HKV, D);
            for (int step = 0; step < 9; step++) { // past the window capacity (3 or 6): keys fold into S
                Tensor q = random(B, H, 1, D);
                Tensor k = random(B, HKV, 1, D);
                Tensor v = random(B, HKV, 1, D);
                float[] expected = Tensors.toFloats(attention.forward(q, k, v, new AttentionContext(null, PROMPT + step), viaLibtorch));
                float[] actual = new float[B * H * D];
                assertTrue(attention.decodeStep(shape, Tensors.toFloats(q), Tensors.toFloats(k), Tensors.toFloats(v),
                        new AttentionContext(null, PROMPT + step), viaJava, actual));
                assertClose(expected, actual, "output, step " + step);
                HybridState a = (HybridState) viaLibtorch;
                HybridState b = (HybridState) viaJava;
                assertClose(Tensors.toFloats(a.s), Tensors.toFloats(b.s), "S, step " + step);
                assertClose(Tensors.toFloats(a.z), Tensors.toFloats(b.z), "z, step " + step);
                assertClose(Tensors.toFloats(a.keys), Tensors.toFloats(b.keys), "keys, step " + step);
                assertClose(Tensors.toFloats(a.valid), Tensors.toFloats(b.valid), "valid, step " + step);
            }
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 2e-4 * (1 + Math.abs(expected[i])), what + " at " + i);
        }
    }

    private static Tensor random(long... shape) {
        return torch.randn(shape, Tensors.options(Tensors.F32));
    }
}
