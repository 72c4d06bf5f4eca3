package dev.lolcats4j.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.LayerCache;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.testing.ParityFixtures;
import dev.lolcats4j.testing.ParityFixtures.Case;
import dev.lolcats4j.torch.Tensors;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/**
 * A sparse cache large enough to hold every pair that leaves the window turns LoLCATs attention
 * back into softmax attention (nothing reaches the linear state, and gamma cancels out). So a
 * LoLCATs adapter without LoRA, with such a cache, must reproduce the softmax teacher's
 * log-probabilities from the independent float64 reference: in the parallel prefill and token by
 * token from an empty cache.
 */
class SparseCacheParityTest {

    private static Case teacherCase() {
        return ParityFixtures.cases().stream().filter(c -> c.name().equals("llama-f32/softmax")).findFirst().orElseThrow();
    }

    private static DecoderModel linearizedWithCache(Case teacher, int pairs) {
        DecoderModel model = ModelLoader.load(teacher.model(), ComputeType.F32);
        Adapters.load(model, ParityFixtures.path("adapters/llama-f32-sw"));
        Adapters.setSparseCache(model, pairs);
        return model;
    }

    @Test
    void prefillWithAFullCacheIsTheTeacher() {
        Case teacher = teacherCase();
        DecoderModel model = linearizedWithCache(teacher, teacher.tokenIds().length);
        double[] logprobs = Scorer.logprobs(model, teacher.tokenIds());
        double[] plain = Scorer.logprobs(linearizedWithCache(teacher, 0), teacher.tokenIds());
        double maxPlainGap = 0;
        for (int t = 0; t < logprobs.length; t++) {
            assertEquals(teacher.logprobs()[t], logprobs[t], ParityFixtures.tolerance(), "position " + t);
            maxPlainGap = Math.max(maxPlainGap, Math.abs(plain[t] - teacher.logprobs()[t]));
        }
        // The fixture is long enough for the window to matter: without the cache it differs.
        assertTrue(maxPlainGap > 100 * ParityFixtures.tolerance(), "plain LoLCATs differs by " + maxPlainGap);
    }

    @Test
    void decodeWithAFullCacheIsTheTeacher() {
        assertDecodeIsTheTeacher();
    }

    /** The same through the Java decode kernels (the cache's softmax joins the window's). */
    @Test
    void kernelDecodeWithAFullCacheIsTheTeacher() {
        dev.lolcats4j.kernels.WarmUp.awaitReady();
        assertTrue(dev.lolcats4j.kernels.VectorKernels.enabled());
        assertDecodeIsTheTeacher();
    }

    /**
     * With a cache smaller than the pairs that leave the window, prefill (decisions per block) and
     * decode (one eviction per token) keep the same pairs, so they give the same log-probabilities
     * up to float32 rounding, while both differ from plain LoLCATs and from the teacher.
     */
    @Test
    void prefillAndDecodeAgreeWhenTheCacheEvicts() {
        Case teacher = teacherCase();
        int[] ids = teacher.tokenIds();
        double[] plain = Scorer.logprobs(linearizedWithCache(teacher, 0), ids);
        for (int pairs : new int[] {1, 3, 8}) {
            DecoderModel model = linearizedWithCache(teacher, pairs);
            double[] prefill = Scorer.logprobs(model, ids);
            double[] decode = decodeLogprobs(model, ids);
            double fromPlain = 0;
            for (int t = 0; t < prefill.length; t++) {
                assertEquals(prefill[t], decode[t], 1e-4, "C = " + pairs + ", position " + t);
                fromPlain = Math.max(fromPlain, Math.abs(prefill[t] - plain[t]));
            }
            assertTrue(fromPlain > 1e-2, "C = " + pairs + " changes the model (" + fromPlain + ")");
        }
    }

    private static double[] decodeLogprobs(DecoderModel model, int[] ids) {
        double[] out = new double[ids.length - 1];
        try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            List<LayerCache> caches = model.newCaches();
            for (int t = 0; t + 1 < ids.length; t++) {
                Tensor logits = model.lastLogits(Tensors.ofLongs(new long[] {ids[t]}, 1, 1), Tensors.ofLongs(new long[] {t}, 1, 1),
                        new AttentionContext(null, t), caches);
                out[t] = Tensors.toDoubles(logits.to(Tensors.F64).log_softmax(-1))[ids[t + 1]];
            }
        }
        return out;
    }

    private static void assertDecodeIsTheTeacher() {
        Case teacher = teacherCase();
        int[] ids = teacher.tokenIds();
        DecoderModel model = linearizedWithCache(teacher, ids.length);
        try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            List<LayerCache> caches = model.newCaches();
            for (int t = 0; t + 1 < ids.length; t++) {
                Tensor logits = model.lastLogits(Tensors.ofLongs(new long[] {ids[t]}, 1, 1), Tensors.ofLongs(new long[] {t}, 1, 1),
                        new AttentionContext(null, t), caches);
                double logprob = Tensors.toDoubles(logits.to(Tensors.F64).log_softmax(-1))[ids[t + 1]];
                assertEquals(teacher.logprobs()[t], logprob, ParityFixtures.tolerance(), "position " + t);
            }
        }
    }
}
