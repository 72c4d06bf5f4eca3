package dev.lolcats4j.eval;

import java.util.List;

/**
 * Teacher-forced scoring of whole token sequences: the one thing every evaluation task asks of
 * a model. {@link ModelScorer} runs a {@link dev.lolcats4j.model.DecoderModel}; tests inject
 * stubs with hand-chosen log-likelihoods.
 */
public interface SequenceScorer {

    /**
     * Scores each sequence independently (as if alone in its own batch).
     *
     * @param sequences token id sequences, each of length at least 2
     * @return one result per sequence, in the same order
     */
    List<Scored> score(List<int[]> sequences);

    /** {@return the number of token ids the model accepts: ids are in [0, vocabSize)} */
    int vocabSize();

    /**
     * Per-position scores of one sequence of n tokens; index t is about predicting token t+1.
     *
     * @param logprobs length n-1: log p(ids[t+1] | ids[0..t])
     * @param greedy length n-1: whether ids[t+1] is the argmax prediction after ids[0..t]
     */
    record Scored(double[] logprobs, boolean[] greedy) {

        /** Sum of logprobs over the predictions of tokens [from, to) of the sequence. */
        public double sumOfTokens(int from, int to) {
            double sum = 0;
            for (int j = from; j < to; j++) {
                sum += logprobs[j - 1];
            }
            return sum;
        }

        /** True when every token in [from, to) of the sequence is the greedy prediction. */
        public boolean allGreedy(int from, int to) {
            for (int j = from; j < to; j++) {
                if (!greedy[j - 1]) {
                    return false;
                }
            }
            return true;
        }

        /** How many tokens in [from, to) of the sequence are the greedy prediction. */
        public int greedyCount(int from, int to) {
            int count = 0;
            for (int j = from; j < to; j++) {
                count += greedy[j - 1] ? 1 : 0;
            }
            return count;
        }
    }
}
