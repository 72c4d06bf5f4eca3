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
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Java decode step with a sparse cache against libtorch's ({@link HybridState#step}, itself
 * tested in float64 against the definition): two states prefilled alike from a padded batch, then
 * stepped one way each; outputs, S, z and the cached pairs must agree at every step, through the
 * cache's filling, eviction of cached pairs and of leaving pairs.
 */
class SparseCacheDecodeTest {

    private static final int B = 2;
    private static final int H = 4;
    private static final int HKV = 2;
    private static final int D = 20;
    private static final int PROMPT = 11;
    private static final int WINDOW = 3;
    private static final int CACHE = 4;

    @BeforeAll
    static void init() {
        Natives.init();
        assertTrue(VectorKernels.enabled(), String.valueOf(VectorKernels.unavailableReason()));
    }

    @Test
    void javaStepMatchesLibtorchStep() {
        try (NoGradGuard g = new NoGradGuard()) {
            torch.manual_seed(11);
            HybridParams p = new HybridParams(AttentionKind.HYBRID_SW, WINDOW,
                    new FeatureMap(FeatureMapKind.SOFTMAX_DIM, random(H, D, 6).mul(Tensors.scalar(0.5)), null),
                    new FeatureMap(FeatureMapKind.SOFTMAX_DIM, random(H, D, 6).mul(Tensors.scalar(0.5)), null),
                    random(1, H, 1, 1), false);
            HybridAttention attention = new HybridAttention(p, H / HKV, CACHE);
            LayerCache viaLibtorch = attention.newCache();
            LayerCache viaJava = attention.newCache();
            // Sequence 1 has three padding tokens in front: they must never enter the cache.
            float[] flags = new float[B * PROMPT];
            java.util.Arrays.fill(flags, 1f);
            flags[PROMPT] = flags[PROMPT + 1] = flags[PROMPT + 2] = 0;
            Tensor valid = Tensors.ofFloats(flags, B, PROMPT).gt(Tensors.scalar(0.5));
            Tensor q0 = random(B, H, PROMPT, D);
            Tensor k0 = random(B, HKV, PROMPT, D);
            Tensor v0 = random(B, HKV, PROMPT, D);
            attention.forward(q0, k0, v0, new AttentionContext(valid, 0), viaLibtorch);
            attention.forward(q0, k0, v0, new AttentionContext(valid, 0), viaJava);
            Attention.DecodeShape shape = new Attention.DecodeShape(B, H, HKV, D);
            for (int step = 0; step < 25; step++) {
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
                assertEquals(cachedValues(a), cachedValues(b), "cached pairs, step " + step);
            }
            assertEquals(B * HKV * CACHE, cachedValues((HybridState) viaJava).size(), "the cache filled up");
        }
    }

    /** Each valid cached pair as "b,g:first value coordinate" rounded, sorted (slot order may differ). */
    private static List<String> cachedValues(HybridState state) {
        float[] values = Tensors.toFloats(state.cacheValues);
        float[] valid = Tensors.toFloats(state.cacheValid);
        List<String> out = new ArrayList<>();
        for (int bg = 0; bg < B * HKV; bg++) {
            for (int slot = 0; slot < CACHE; slot++) {
                if (valid[bg * CACHE + slot] > 0) {
                    out.add(bg + ":" + String.format(java.util.Locale.ROOT, "%.4f", values[(bg * CACHE + slot) * D]));
                }
            }
        }
        out.sort(null);
        return out;
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
