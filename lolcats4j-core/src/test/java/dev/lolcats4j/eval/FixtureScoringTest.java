package dev.lolcats4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.testing.ParityFixtures;
import dev.lolcats4j.testing.ParityFixtures.Case;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Scoring, multiple choice and perplexity on the parity fixture models, checked against the
 * independent float64 reference log-probabilities of cases.json.
 */
class FixtureScoringTest {

    static Stream<Case> cases() {
        // softmax, sliding window + linear, and pure linear attention on the same base model
        return ParityFixtures.cases().stream().filter(c -> c.logprobs() != null)
                .filter(c -> List.of("llama-f32/softmax", "llama-f32/sw", "llama-f32/linear").contains(c.name()));
    }

    static DecoderModel load(Case c) {
        DecoderModel model = ModelLoader.load(c.model(), ComputeType.F32);
        if (c.adapter() != null) {
            Adapters.load(model, c.adapter());
        }
        return model;
    }

    /** Sum of the reference logprobs predicting tokens [from, to). */
    static double referenceSum(Case c, int from, int to) {
        double sum = 0;
        for (int j = from; j < to; j++) {
            sum += c.logprobs()[j - 1];
        }
        return sum;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void continuationLogLikelihoodsMatchTheReferenceInOneRightPaddedBatch(Case c) {
        int n = c.tokenIds().length;
        // whole sequence plus shorter prefixes, in one batch: the prefixes are right-padded
        List<int[]> sequences = List.of(c.tokenIds(), Arrays.copyOf(c.tokenIds(), 17), Arrays.copyOf(c.tokenIds(), 30),
                Arrays.copyOf(c.tokenIds(), 2));
        List<SequenceScorer.Scored> scored = new ModelScorer(load(c), 1 << 16, null).score(sequences);
        double tol = ParityFixtures.tolerance();
        for (int s = 0; s < sequences.size(); s++) {
            int len = sequences.get(s).length;
            for (int t = 0; t < len - 1; t++) {
                assertEquals(c.logprobs()[t], scored.get(s).logprobs()[t], tol, c + " sequence " + s + " position " + t);
            }
        }
        // continuation = tokens [25, n) after a 25-token context
        assertEquals(referenceSum(c, 25, n), scored.get(0).sumOfTokens(25, n), tol * (n - 25), c.name());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void multipleChoiceOnTheFixtureModelPicksWhatTheReferenceSays(Case c) {
        // The char tokenizer maps code point x to token x, so text made of the case's ids
        // tokenizes back to them. Three choices are prefixes of the case's continuation after
        // a 22-token context, so their log-likelihoods are sums of reference logprobs.
        int[] ids = c.tokenIds();
        int ctx = 22; // ids[21] is not whitespace, so the context keeps all its tokens
        String context = new String(ids, 0, ctx);
        int[][] spans = {{ctx, ctx + 1}, {ctx, ctx + 3}, {ctx, ctx + 8}};
        List<String> choices = new ArrayList<>();
        double[] ll = new double[spans.length];
        double[] perByte = new double[spans.length];
        for (int k = 0; k < spans.length; k++) {
            choices.add(new String(ids, spans[k][0], spans[k][1] - spans[k][0]));
            ll[k] = referenceSum(c, spans[k][0], spans[k][1]);
            int bytes = 0;
            for (int j = spans[k][0]; j < spans[k][1]; j++) {
                bytes += ids[j] < 0x80 ? 1 : 2; // UTF-8 length of code points below 0x800
            }
            perByte[k] = ll[k] / bytes;
        }
        int best = argmax(ll);
        int bestNorm = argmax(perByte);
        // one item whose gold is the reference's acc choice, one whose gold is its acc_norm choice
        List<MultipleChoice.Item> items = List.of(new MultipleChoice.Item(context, choices, best, 1),
                new MultipleChoice.Item(context, choices, bestNorm, 2));
        MultipleChoice.Result r = MultipleChoice.evaluate(new ModelScorer(load(c)), Stubs.charTokenizer(OptionalInt.empty()),
                items, MultipleChoice.Options.zeroShot(2048));
        assertEquals(best, r.predicted()[0], c.name());
        assertEquals(bestNorm, r.predictedNorm()[0], c.name());
        double expectedAcc = (1 + (best == bestNorm ? 1 : 0)) / 2.0;
        double expectedNorm = ((bestNorm == best ? 1 : 0) + 1) / 2.0;
        assertEquals(expectedAcc, r.acc(), 1e-12);
        assertEquals(expectedNorm, r.accNorm(), 1e-12);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void tokenPerplexityIsExpOfTheReferenceMeanNll(Case c) {
        double nll = -referenceSum(c, 1, c.tokenIds().length);
        int tokens = c.tokenIds().length - 1;
        Perplexity.Stats s = Perplexity.evaluate(new ModelScorer(load(c)),
                List.of(new Perplexity.Document(c.name(), c.tokenIds(), 0)), Perplexity.Windows.chunked(64));
        assertEquals(tokens, s.tokens());
        assertEquals(Math.exp(nll / tokens), s.tokenPerplexity(), Math.exp(nll / tokens) * ParityFixtures.tolerance(), c.name());
    }

    static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
