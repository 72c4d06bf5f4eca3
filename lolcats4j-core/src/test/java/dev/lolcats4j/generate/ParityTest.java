package dev.lolcats4j.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.kernels.VectorKernels;
import dev.lolcats4j.kernels.WarmUp;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.lolcats.AttentionKind;
import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.LayerCache;
import dev.lolcats4j.torch.Tensors;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.testing.ParityFixtures;
import dev.lolcats4j.testing.ParityFixtures.Case;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every case of the parity fixtures: log-probabilities within tolerance, greedy tokens equal. */
class ParityTest {

    static Stream<Case> scoreCases() {
        return ParityFixtures.cases().stream().filter(c -> c.logprobs() != null);
    }

    /**
     * Score cases whose decode steps reproduce the parallel forward exactly: all but the
     * terrace kind, whose recurrent step only approximates its block-aligned window (see the
     * method doc; its greedy tokens are still checked).
     */
    static Stream<Case> exactDecodeCases() {
        return scoreCases().filter(c -> c.adapter() == null
                || AdapterConfigJson.read(c.adapter()).attention() != AttentionKind.HYBRID_TK);
    }

    static Stream<Case> greedyCases() {
        return ParityFixtures.cases().stream().filter(c -> c.greedy() != null);
    }

    static DecoderModel load(Case c) {
        DecoderModel model = ModelLoader.load(c.model(), ComputeType.F32);
        if (c.adapter() != null) {
            Adapters.load(model, c.adapter());
        }
        return model;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scoreCases")
    void logprobsMatchTheFloat64Reference(Case c) {
        double[] actual = Scorer.logprobs(load(c), c.tokenIds());
        assertEquals(c.logprobs().length, actual.length);
        double tolerance = ParityFixtures.tolerance();
        for (int t = 0; t < actual.length; t++) {
            assertEquals(c.logprobs()[t], actual[t], tolerance, c.name() + " position " + t);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("greedyCases")
    void greedyTokensMatchTheReference(Case c) {
        assertGreedyTokens(c);
    }

    /** The same through the Java decode kernels (compiled first, so that decoding takes them). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("greedyCases")
    void greedyTokensMatchTheReferenceThroughTheKernels(Case c) {
        WarmUp.awaitReady();
        assertTrue(VectorKernels.enabled(), String.valueOf(VectorKernels.unavailableReason()));
        assertGreedyTokens(c);
    }

    private static void assertGreedyTokens(Case c) {
        int[] generated = new Generator(load(c)).generate(c.tokenIds(), SamplingConfig.greedy(c.greedy().length), null);
        assertArrayEquals(c.greedy(), generated, c.name());
    }

    /**
     * Every reference log-probability again, this time from decode steps: one token at a time
     * from an empty cache, through the Java kernels (softmax KV cache or LoLCATs state).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("exactDecodeCases")
    void decodeStepLogprobsMatchTheFloat64Reference(Case c) {
        WarmUp.awaitReady();
        DecoderModel model = load(c);
        int[] ids = c.tokenIds();
        try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            List<LayerCache> caches = model.newCaches();
            for (int t = 0; t + 1 < ids.length; t++) {
                Tensor logits = model.lastLogits(Tensors.ofLongs(new long[] {ids[t]}, 1, 1), Tensors.ofLongs(new long[] {t}, 1, 1),
                        new AttentionContext(null, t), caches);
                double logprob = Tensors.toDoubles(logits.to(Tensors.F64).log_softmax(-1))[ids[t + 1]];
                assertEquals(c.logprobs()[t], logprob, ParityFixtures.tolerance(), c.name() + " position " + t);
            }
        }
    }
}
