package dev.lolcats4j.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lolcats4j.lolcats.Adapters;
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
        int[] generated = new Generator(load(c)).generate(c.tokenIds(), SamplingConfig.greedy(c.greedy().length), null);
        assertArrayEquals(c.greedy(), generated, c.name());
    }
}
