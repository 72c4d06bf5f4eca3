package dev.lolcats4j.eval;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Multiple choice the way lm-eval-harness scores it: each choice is a continuation appended
 * verbatim to the context; its score is the summed log-likelihood of the continuation tokens.
 * {@code acc} picks the highest sum, {@code acc_norm} the highest sum divided by the choice's
 * UTF-8 byte length. Ties go to the lowest index (like numpy's argmax).
 */
public final class MultipleChoice {

    /** Default separator between few-shot examples and before the question. */
    public static final String DEFAULT_FEWSHOT_DELIMITER = "\n\n";

    private MultipleChoice() {}

    /**
     * One question.
     *
     * @param context the text before the answer
     * @param choices continuations, appended verbatim (include a leading space if one belongs there)
     * @param gold index of the right choice
     * @param line 1-based line of the task file it came from (0 if none)
     */
    public record Item(String context, List<String> choices, int gold, int line) {

        public Item {
            choices = List.copyOf(choices);
            if (choices.size() < 2) {
                throw new BadInputException("choices: expected at least 2, found " + choices.size());
            }
            if (gold < 0 || gold >= choices.size()) {
                throw new BadInputException("gold: expected 0 <= gold < " + choices.size() + ", found " + gold);
            }
        }
    }

    /**
     * @param numFewshot solved examples before each question, drawn from the other items
     * @param seed seed of the few-shot draw
     * @param fewshotDelimiter between examples and before the question
     * @param maxLength longest sequence the model sees; longer prompts lose tokens on the left
     */
    public record Options(int numFewshot, long seed, String fewshotDelimiter, int maxLength) {

        public Options {
            if (numFewshot < 0) {
                throw new BadInputException("num_fewshot: expected >= 0, found " + numFewshot);
            }
        }

        public static Options zeroShot(int maxLength) {
            return new Options(0, 1234, DEFAULT_FEWSHOT_DELIMITER, maxLength);
        }
    }

    /** acc and acc_norm, with per-item predictions. */
    public record Result(int items, double acc, double accNorm, int[] predicted, int[] predictedNorm) {}

    /**
     * The items used as few-shot examples for item {@code index}: {@code k} distinct other items,
     * drawn by a generator seeded from (seed, index) so that each prompt depends only on those.
     */
    public static int[] fewshotIndices(int itemCount, int index, int k, long seed) {
        if (k > itemCount - 1) {
            throw new BadInputException("num_fewshot: expected at most " + (itemCount - 1)
                    + " (items other than the question), found " + k);
        }
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
        int[] pool = new int[itemCount - 1];
        for (int i = 0, j = 0; i < itemCount; i++) {
            if (i != index) {
                pool[j++] = i;
            }
        }
        for (int i = 0; i < k; i++) { // partial Fisher-Yates
            int j = i + random.nextInt(pool.length - i);
            int t = pool[i];
            pool[i] = pool[j];
            pool[j] = t;
        }
        return Arrays.copyOf(pool, k);
    }

    /** The full context of item {@code index}: few-shot examples (context + gold choice), then its own context. */
    public static String prompt(List<Item> items, int index, Options options) {
        if (options.numFewshot() == 0) {
            return items.get(index).context();
        }
        StringBuilder sb = new StringBuilder();
        for (int shot : fewshotIndices(items.size(), index, options.numFewshot(), options.seed())) {
            Item example = items.get(shot);
            sb.append(example.context()).append(example.choices().get(example.gold())).append(options.fewshotDelimiter());
        }
        return sb.append(items.get(index).context()).toString();
    }

    /**
     * Context and continuation as one token sequence, split as lm-eval does: trailing spaces
     * of the context move to the continuation; the whole text is encoded once (with BOS as
     * the model's tokenizer adds it) and the continuation is what follows the context's own
     * encoding length. Left-truncated to {@code maxLength}.
     *
     * @return {sequence, {continuationStart}}
     */
    public static Request encode(Tokenizer tokenizer, String context, String continuation, int maxLength) {
        int spaces = context.length() - context.stripTrailing().length();
        if (spaces > 0) {
            continuation = context.substring(context.length() - spaces) + continuation;
            context = context.substring(0, context.length() - spaces);
        }
        int[] whole = tokenizer.encode(context + continuation);
        int contextLength = tokenizer.encode(context).length;
        if (contextLength == 0) {
            if (tokenizer.bosId().isEmpty()) {
                throw new BadInputException("context: empty, and the tokenizer has no BOS token to condition on");
            }
            int[] withBos = new int[whole.length + 1];
            withBos[0] = tokenizer.bosId().getAsInt();
            System.arraycopy(whole, 0, withBos, 1, whole.length);
            whole = withBos;
            contextLength = 1;
        }
        if (contextLength >= whole.length) {
            throw new BadInputException("continuation " + quote(continuation) + ": encodes to no tokens after the context");
        }
        if (whole.length > maxLength) {
            int cut = whole.length - maxLength;
            if (cut >= contextLength) {
                throw new BadInputException("continuation " + quote(continuation) + ": " + (whole.length - contextLength)
                        + " tokens do not fit in the maximum length " + maxLength);
            }
            whole = Arrays.copyOfRange(whole, cut, whole.length);
            contextLength -= cut;
        }
        return new Request(whole, contextLength);
    }

    /** A token sequence whose tokens [continuationStart, end) are the continuation to score. */
    public record Request(int[] ids, int continuationStart) {}

    /** Scores every choice of every item in batches and computes acc and acc_norm. */
    public static Result evaluate(SequenceScorer scorer, Tokenizer tokenizer, List<Item> items, Options options) {
        if (items.isEmpty()) {
            throw new BadInputException("multiple choice: no items");
        }
        List<int[]> sequences = new ArrayList<>();
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            String prompt = prompt(items, i, options);
            for (String choice : items.get(i).choices()) {
                Request r = encode(tokenizer, prompt, choice, options.maxLength());
                requests.add(r);
                sequences.add(r.ids());
            }
        }
        List<SequenceScorer.Scored> scored = scorer.score(sequences);
        double[][] logLikelihoods = new double[items.size()][];
        int k = 0;
        for (int i = 0; i < items.size(); i++) {
            logLikelihoods[i] = new double[items.get(i).choices().size()];
            for (int c = 0; c < logLikelihoods[i].length; c++, k++) {
                Request r = requests.get(k);
                logLikelihoods[i][c] = scored.get(k).sumOfTokens(r.continuationStart(), r.ids().length);
            }
        }
        return fromLogLikelihoods(items, logLikelihoods);
    }

    /** acc and acc_norm from each choice's continuation log-likelihood. */
    public static Result fromLogLikelihoods(List<Item> items, double[][] logLikelihoods) {
        int[] predicted = new int[items.size()];
        int[] predictedNorm = new int[items.size()];
        int correct = 0;
        int correctNorm = 0;
        for (int i = 0; i < items.size(); i++) {
            Item item = items.get(i);
            double[] normalized = new double[item.choices().size()];
            for (int c = 0; c < normalized.length; c++) {
                int bytes = item.choices().get(c).getBytes(StandardCharsets.UTF_8).length;
                normalized[c] = logLikelihoods[i][c] / Math.max(1, bytes);
            }
            predicted[i] = argmax(logLikelihoods[i]);
            predictedNorm[i] = argmax(normalized);
            correct += predicted[i] == item.gold() ? 1 : 0;
            correctNorm += predictedNorm[i] == item.gold() ? 1 : 0;
        }
        return new Result(items.size(), (double) correct / items.size(), (double) correctNorm / items.size(),
                predicted, predictedNorm);
    }

    static int argmax(double[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    private static String quote(String s) {
        String shown = s.length() > 40 ? s.substring(0, 40) + "..." : s;
        return "\"" + shown.replace("\n", "\\n") + "\"";
    }
}
