package dev.lolcats4j.eval;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntConsumer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Scores sequences with a decoder model in batches. Sequences are sorted by length and packed
 * into batches of at most {@code maxBatchTokens} (rows times the longest row), right-padded:
 * attention is causal (softmax, sliding window and linear alike), so padding after a real
 * token never changes that token's logits.
 */
public final class ModelScorer implements SequenceScorer {

    /** Default batch budget: rows times padded length. */
    public static final int DEFAULT_MAX_BATCH_TOKENS = 4096;

    private final DecoderModel model;
    private final int maxBatchTokens;
    private final IntConsumer progress;

    /**
     * @param model the model, in evaluation mode
     * @param maxBatchTokens batch budget (rows times padded length); a longer sequence runs alone
     * @param progress told how many sequences each finished batch scored; may be null
     */
    public ModelScorer(DecoderModel model, int maxBatchTokens, IntConsumer progress) {
        if (maxBatchTokens < 1) {
            throw new BadInputException("max batch tokens: expected >= 1, found " + maxBatchTokens);
        }
        this.model = model;
        this.maxBatchTokens = maxBatchTokens;
        this.progress = progress;
    }

    public ModelScorer(DecoderModel model) {
        this(model, DEFAULT_MAX_BATCH_TOKENS, null);
    }

    public DecoderModel model() {
        return model;
    }

    @Override
    public int vocabSize() {
        return model.config().vocabSize();
    }

    @Override
    public List<Scored> score(List<int[]> sequences) {
        Integer[] order = new Integer[sequences.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
            if (sequences.get(i).length < 2) {
                throw new BadInputException("token ids: expected at least 2 tokens to score, found " + sequences.get(i).length);
            }
        }
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> sequences.get(i).length).reversed());
        Scored[] out = new Scored[order.length];
        int start = 0;
        while (start < order.length) {
            int longest = sequences.get(order[start]).length;
            int rows = Math.max(1, Math.min(order.length - start, maxBatchTokens / longest));
            List<int[]> batch = new ArrayList<>(rows);
            for (int r = 0; r < rows; r++) {
                batch.add(sequences.get(order[start + r]));
            }
            Scored[] scored = scoreBatch(batch, longest);
            for (int r = 0; r < rows; r++) {
                out[order[start + r]] = scored[r];
            }
            start += rows;
            if (progress != null) {
                progress.accept(rows);
            }
        }
        return Arrays.asList(out);
    }

    private Scored[] scoreBatch(List<int[]> batch, int length) {
        int rows = batch.size();
        int[] ids = new int[rows * length];
        for (int r = 0; r < rows; r++) {
            int[] seq = batch.get(r);
            System.arraycopy(seq, 0, ids, r * length, seq.length); // right padding with id 0
        }
        double[] logprobs;
        long[] argmax;
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Tensor input = Tensors.ofInts(ids, rows, length);
            Tensor logits = model.forward(input).narrow(1, 0, length - 1);   // [B, N-1, V] float32
            Tensor targets = input.narrow(1, 1, length - 1).unsqueeze(-1);
            Tensor picked = logits.gather(-1, targets).squeeze(-1);
            Tensor normalizer = logits.logsumexp(new long[] {-1}, false);
            logprobs = Tensors.toDoubles(picked.sub(normalizer));
            argmax = Tensors.toLongs(logits.argmax(new org.bytedeco.pytorch.LongOptional(-1), false));
        }
        Scored[] out = new Scored[rows];
        for (int r = 0; r < rows; r++) {
            int n = batch.get(r).length;
            double[] lp = Arrays.copyOfRange(logprobs, r * (length - 1), r * (length - 1) + n - 1);
            boolean[] greedy = new boolean[n - 1];
            for (int t = 0; t < n - 1; t++) {
                greedy[t] = argmax[r * (length - 1) + t] == batch.get(r)[t + 1];
            }
            out[r] = new Scored(lp, greedy);
        }
        return out;
    }
}
