package dev.lolcats4j.eval;

import dev.lolcats4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.IntToDoubleFunction;

/** Test doubles: a one-token-per-character tokenizer and scorers with known answers. */
final class Stubs {

    private Stubs() {}

    /** Token id = the character's code point; no BOS unless given. */
    static Tokenizer charTokenizer(OptionalInt bos) {
        return new Tokenizer() {
            @Override
            public int[] encode(String text) {
                int[] body = text.codePoints().toArray();
                if (bos.isEmpty()) {
                    return body;
                }
                int[] out = new int[body.length + 1];
                out[0] = bos.getAsInt();
                System.arraycopy(body, 0, out, 1, body.length);
                return out;
            }

            @Override
            public int[] encodeWithoutSpecial(String text) {
                return text.codePoints().toArray();
            }

            @Override
            public String decode(int[] ids) {
                return new String(ids, 0, ids.length);
            }

            @Override
            public int vocabSize() {
                return 0x110000;
            }

            @Override
            public OptionalInt bosId() {
                return bos;
            }

            @Override
            public OptionalInt eosId() {
                return OptionalInt.empty();
            }

            @Override
            public void close() {}
        };
    }

    /** Scores each token by its id alone (logprobs[t] = f(ids[t+1])); records what it was asked. */
    static final class ByTokenScorer implements SequenceScorer {
        final IntToDoubleFunction logprob;
        final List<int[]> seen = new ArrayList<>();

        ByTokenScorer(IntToDoubleFunction logprob) {
            this.logprob = logprob;
        }

        @Override
        public List<Scored> score(List<int[]> sequences) {
            List<Scored> out = new ArrayList<>();
            for (int[] ids : sequences) {
                seen.add(ids.clone());
                double[] lp = new double[ids.length - 1];
                for (int t = 0; t < lp.length; t++) {
                    lp[t] = logprob.applyAsDouble(ids[t + 1]);
                }
                out.add(new Scored(lp, new boolean[ids.length - 1]));
            }
            return out;
        }

        @Override
        public int vocabSize() {
            return 256;
        }
    }

    /**
     * A perfect copier (an "induction head"): predicts that the token after position t is the
     * one that followed the earlier occurrence of the longest suffix ending at t; greedy[t]
     * says whether that prediction is the actual next token.
     */
    static final class InductionOracle implements SequenceScorer {
        @Override
        public List<Scored> score(List<int[]> sequences) {
            List<Scored> out = new ArrayList<>();
            for (int[] ids : sequences) {
                boolean[] greedy = new boolean[ids.length - 1];
                for (int t = 0; t < ids.length - 1; t++) {
                    int bestLen = 0;
                    int bestNext = -1;
                    for (int j = t - 1; j >= 0; j--) { // most recent first
                        int m = 0;
                        while (m <= j && ids[j - m] == ids[t - m]) {
                            m++;
                        }
                        if (m > bestLen) {
                            bestLen = m;
                            bestNext = ids[j + 1];
                        }
                    }
                    greedy[t] = bestNext == ids[t + 1];
                }
                out.add(new Scored(new double[ids.length - 1], greedy));
            }
            return out;
        }

        @Override
        public int vocabSize() {
            return 256;
        }
    }
}
