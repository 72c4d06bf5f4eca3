package dev.lolcats4j.eval;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.SplittableRandom;

/**
 * Synthetic recall probes where linear attention is known to be weak. Each probe is a token
 * sequence whose last tokens (or several spans) must be recalled from far earlier; an answer
 * counts as right when every answer token is the model's greedy (argmax) prediction under
 * teacher forcing, which is exactly when greedy decoding would produce it.
 */
public final class RecallProbes {

    private RecallProbes() {}

    /** One probe sequence and the spans [start, end) of its answer tokens. */
    public record Probe(int[] ids, List<int[]> answerSpans) {}

    /** Accuracy per sequence length, in the order the lengths were given. */
    public record Result(Map<Integer, Double> accuracyByLength) {

        public double meanAccuracy() {
            return accuracyByLength.values().stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        }
    }

    // ---------------------------------------------------------------- passkey

    static final String PASSKEY_INTRO = "There is an important info hidden inside a lot of irrelevant text. "
            + "Find it and memorize it. I will quiz you about the important information there.";
    static final String PASSKEY_FILLER = " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
    static final String PASSKEY_QUESTION = " What is the pass key? The pass key is";

    /**
     * Passkey retrieval over raw token ids (no tokenizer needed). Ids [0, minId) are left
     * alone; of the rest, 2 ids form the marker, 10 stand for digits, the others are filler.
     * Sequence: [bos] filler... marker key filler... marker key, where the key is
     * {@code digits} digit-ids, placed at a uniformly random depth; length exactly
     * {@code length}. The filler is one random 16-token block repeated, like the usual "The
     * grass is green." text.
     */
    public static Probe passkeyIds(int length, int digits, int vocabSize, int minId, OptionalInt bos, SplittableRandom random) {
        int pool = vocabSize - minId;
        if (pool < 2 + 10 + 2) {
            throw new BadInputException("passkey: vocabulary too small (" + vocabSize + " ids, min_id " + minId + ")");
        }
        int lead = bos.isPresent() ? 1 : 0;
        int needle = 2 + digits;
        int fillerTotal = length - lead - 2 * needle;
        if (fillerTotal < 1) {
            throw new BadInputException("passkey: length " + length + " too short for a " + digits + "-digit key");
        }
        int marker0 = minId;
        int marker1 = minId + 1;
        int digit0 = minId + 2;
        int[] block = new int[16];
        for (int i = 0; i < block.length; i++) {
            block[i] = minId + 12 + random.nextInt(pool - 12);
        }
        int[] key = new int[digits];
        for (int i = 0; i < digits; i++) {
            key[i] = digit0 + random.nextInt(10);
        }
        int before = random.nextInt(fillerTotal + 1);
        int[] ids = new int[length];
        int p = 0;
        if (bos.isPresent()) {
            ids[p++] = bos.getAsInt();
        }
        for (int i = 0; i < fillerTotal; i++) {
            if (i == before) {
                p = putNeedle(ids, p, marker0, marker1, key);
            }
            ids[p++] = block[i % block.length];
        }
        if (before == fillerTotal) {
            p = putNeedle(ids, p, marker0, marker1, key);
        }
        p = putNeedle(ids, p, marker0, marker1, key);
        return new Probe(ids, List.of(new int[] {length - digits, length}));
    }

    private static int putNeedle(int[] ids, int p, int m0, int m1, int[] key) {
        ids[p++] = m0;
        ids[p++] = m1;
        for (int k : key) {
            ids[p++] = k;
        }
        return p;
    }

    /**
     * The usual text passkey prompt (Mohtashami and Jaggi, 2023): intro, filler sentences with
     * "The pass key is N. Remember it. N is the pass key." at a random depth, then "What is
     * the pass key? The pass key is" and the answer " N". The filler is repeated until the
     * encoded sequence is as long as possible without exceeding {@code length} tokens.
     */
    public static Probe passkeyText(int length, int digits, Tokenizer tokenizer, SplittableRandom random) {
        StringBuilder key = new StringBuilder();
        key.append(1 + random.nextInt(9));
        for (int i = 1; i < digits; i++) {
            key.append(random.nextInt(10));
        }
        String needle = " The pass key is " + key + ". Remember it. " + key + " is the pass key.";
        double depth = random.nextDouble();
        int fixed = MultipleChoice.encode(tokenizer, PASSKEY_INTRO + needle + PASSKEY_QUESTION, " " + key, Integer.MAX_VALUE).ids().length;
        int perFiller = Math.max(1, tokenizer.encodeWithoutSpecial(PASSKEY_FILLER).length);
        int repeats = Math.max(0, (length - fixed) / perFiller + 1);
        while (true) {
            int before = (int) Math.round(depth * repeats);
            String prompt = PASSKEY_INTRO + PASSKEY_FILLER.repeat(before) + needle
                    + PASSKEY_FILLER.repeat(repeats - before) + PASSKEY_QUESTION;
            MultipleChoice.Request r = MultipleChoice.encode(tokenizer, prompt, " " + key, Integer.MAX_VALUE);
            if (r.ids().length <= length || repeats == 0) {
                if (r.ids().length > length) {
                    throw new BadInputException("passkey: length " + length + " is shorter than the prompt without filler ("
                            + r.ids().length + " tokens)");
                }
                return new Probe(r.ids(), List.of(new int[] {r.continuationStart(), r.ids().length}));
            }
            repeats--;
        }
    }

    // ---------------------------------------------------------------- MQAR

    /**
     * Multi-query associative recall (Arora et al., Zoology): [bos] k1 v1 ... kP vP, a gap of
     * one repeated noise id, then every key again in random order, each followed by its value;
     * the values after the queried keys are the answers. Keys are P distinct ids from the
     * first half of [minId+1, vocabSize), values ids from the second half; id minId is the
     * noise. With pairs = 0, P = (length - bos) / 4 (no gap).
     */
    public static Probe mqar(int length, int pairs, int vocabSize, int minId, OptionalInt bos, SplittableRandom random) {
        int lead = bos.isPresent() ? 1 : 0;
        int p = pairs > 0 ? pairs : (length - lead) / 4;
        if (p < 1 || lead + 4 * p > length) {
            throw new BadInputException("mqar: length " + length + " cannot hold " + Math.max(p, 1) + " key-value pairs and their queries");
        }
        int noise = minId;
        int keyLow = minId + 1;
        int half = (vocabSize - keyLow) / 2;
        if (half < p) {
            throw new BadInputException("mqar: " + p + " pairs need " + p + " distinct keys; the vocabulary has " + half);
        }
        int valueLow = keyLow + half;
        int valueCount = vocabSize - valueLow;
        int[] keys = sample(half, p, random);
        int[] values = new int[p];
        for (int i = 0; i < p; i++) {
            keys[i] += keyLow;
            values[i] = valueLow + random.nextInt(valueCount);
        }
        int[] ids = new int[length];
        int q = 0;
        if (bos.isPresent()) {
            ids[q++] = bos.getAsInt();
        }
        for (int i = 0; i < p; i++) {
            ids[q++] = keys[i];
            ids[q++] = values[i];
        }
        int gap = length - lead - 4 * p;
        for (int i = 0; i < gap; i++) {
            ids[q++] = noise;
        }
        int[] order = sample(p, p, random);
        List<int[]> answers = new ArrayList<>();
        for (int i : order) {
            ids[q++] = keys[i];
            answers.add(new int[] {q, q + 1});
            ids[q++] = values[i];
        }
        return new Probe(ids, answers);
    }

    /** k distinct values from [0, n), in random order. */
    private static int[] sample(int n, int k, SplittableRandom random) {
        int[] pool = new int[n];
        for (int i = 0; i < n; i++) {
            pool[i] = i;
        }
        for (int i = 0; i < k; i++) {
            int j = i + random.nextInt(n - i);
            int t = pool[i];
            pool[i] = pool[j];
            pool[j] = t;
        }
        return java.util.Arrays.copyOf(pool, k);
    }

    // ---------------------------------------------------------------- recall text (distance-controlled)

    /**
     * A passkey probe in the recall teacher's text format ({@link dev.lolcats4j.data.RecallText}):
     * filler from {@code text}'s corpus, the answer exactly {@code distance} characters after the
     * needle's key, at most {@code maxTokens} tokens long.
     */
    public static Probe passkeyAtDistance(dev.lolcats4j.data.RecallText text, Tokenizer tokenizer, int distance, int maxTokens,
            SplittableRandom random) {
        int fixed = dev.lolcats4j.data.RecallText.passkeyChars(distance);
        return textProbe(text.passkey(fixed + lead(fixed, maxTokens, random), distance, random), tokenizer, maxTokens);
    }

    /**
     * An MQAR probe in the recall teacher's text format: {@code pairs} key-value pairs, filler,
     * then the queries in the list's order, so that every answer is exactly {@code distance}
     * characters after its value in the list; at most {@code maxTokens} tokens long.
     */
    public static Probe mqarAtDistance(dev.lolcats4j.data.RecallText text, Tokenizer tokenizer, int pairs, int distance, int maxTokens,
            SplittableRandom random) {
        int gap = distance - dev.lolcats4j.data.RecallText.minMqarDistance(pairs);
        if (gap < 0) {
            throw new BadInputException("mqar: distance " + distance + " is shorter than " + pairs + " pairs allow (at least "
                    + dev.lolcats4j.data.RecallText.minMqarDistance(pairs) + ")");
        }
        int fixed = dev.lolcats4j.data.RecallText.mqarChars(pairs, gap);
        return textProbe(text.mqar(fixed + lead(fixed, maxTokens, random), pairs, gap, false, random), tokenizer, maxTokens);
    }

    /** Up to 32 characters of filler before the recall part, as long as the probe still fits. */
    private static int lead(int fixedChars, int maxTokens, SplittableRandom random) {
        int room = Math.min(32, maxTokens - 2 - fixedChars);
        return room <= 0 ? 0 : random.nextInt(room + 1);
    }

    /**
     * Tokenizes a recall document and maps its answers' character spans to token spans (each
     * prefix is encoded on its own; a tokenizer whose tokens cross an answer's boundary is
     * refused, which never happens with the byte-level tokenizer).
     */
    static Probe textProbe(dev.lolcats4j.data.RecallText.Document doc, Tokenizer tokenizer, int maxTokens) {
        int[] ids = tokenizer.encode(doc.text());
        if (ids.length > maxTokens) {
            throw new BadInputException("recall probe: " + ids.length + " tokens do not fit the model's " + maxTokens
                    + " positions (use shorter distances)");
        }
        List<int[]> spans = new ArrayList<>();
        for (dev.lolcats4j.data.RecallText.Answer a : doc.answers()) {
            int start = prefixTokens(tokenizer, doc.text(), a.start(), ids);
            int end = prefixTokens(tokenizer, doc.text(), a.end(), ids);
            if (end <= start || start < 1) {
                throw new BadInputException("recall probe: the tokenizer merges an answer with its context");
            }
            spans.add(new int[] {start, end});
        }
        return new Probe(ids, spans);
    }

    private static int prefixTokens(Tokenizer tokenizer, String text, int chars, int[] all) {
        int[] prefix = tokenizer.encode(text.substring(0, chars));
        if (!java.util.Arrays.equals(prefix, 0, prefix.length, all, 0, prefix.length)) {
            throw new BadInputException("recall probe: the tokenizer merges an answer with its context");
        }
        return prefix.length;
    }

    // ---------------------------------------------------------------- scoring

    /** Builds probes for a length and trial. */
    @FunctionalInterface
    public interface ProbeFactory {
        Probe make(int length, SplittableRandom random);
    }

    /**
     * Runs {@code trials} probes per length; accuracy is the share of answer spans recalled
     * exactly (for passkey one span per probe, for MQAR one per query). Trial t of length L
     * uses a generator seeded from (seed, L, t), so results do not depend on the other lengths.
     */
    public static Result evaluate(SequenceScorer scorer, List<Integer> lengths, int trials, long seed, ProbeFactory factory) {
        Map<Integer, Double> out = new LinkedHashMap<>();
        for (int length : lengths) {
            List<Probe> probes = new ArrayList<>();
            for (int t = 0; t < trials; t++) {
                probes.add(factory.make(length, new SplittableRandom(seed * 1_000_003L + length * 7919L + t)));
            }
            List<SequenceScorer.Scored> scored = scorer.score(probes.stream().map(Probe::ids).toList());
            int right = 0;
            int total = 0;
            for (int i = 0; i < probes.size(); i++) {
                for (int[] span : probes.get(i).answerSpans()) {
                    right += scored.get(i).allGreedy(span[0], span[1]) ? 1 : 0;
                    total++;
                }
            }
            out.put(length, (double) right / total);
        }
        return new Result(out);
    }
}
