package dev.lolcats4j.data;

import dev.lolcats4j.BadInputException;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Synthetic recall documents in plain ASCII text, hidden in filler taken from a corpus, so that a
 * model pretrained on them has to retrieve far back to predict their answers. Two kinds:
 *
 * <ul>
 *   <li><b>passkey</b>: {@code ... The pass key is X48213. Remember it. ... What is the pass key?
 *       The pass key is X48213.} The five digits are random, so the second copy is predictable
 *       only by finding the first.
 *   <li><b>mqar</b> (multi-query associative recall): a list of key-value pairs such as
 *       {@code  Q417 M092 ...}, corpus filler, then every pair again as a query
 *       ({@code M092 Q417}). Keys are single capital letters (distinct within a document),
 *       values 3 random digits: a value is predictable only by retrieving its key's pair from
 *       the list.
 * </ul>
 *
 * <p>Why single-character keys and an {@code X} before the passkey: with a byte-level tokenizer
 * each key is then one token, so retrieving the first answer token is a one-token match (the
 * associative-recall task of Arora et al., Zoology, 2023). An earlier format with three-letter
 * keys ({@code qzd=417}) asked a 5M-parameter model for a four-token match; after 13M training
 * tokens it had learned the format but copied nothing. The passkey marker was a {@code #} (a
 * character the corpus never uses) until the teacher that learned to copy still scored 0% on
 * passkeys, even with the needle right before the question: its induction heads match on the
 * letters and digits of the copy and MQAR documents and never learned to match on {@code #},
 * which only passkeys used. A capital letter, which the MQAR keys and copy strings exercise,
 * is matched at once; {@code X} is the rarest one in the corpus (demo/recall-teacher/README.md).
 *
 * An answer's <em>distance</em> is the number of characters from the first character of its
 * earlier copy to the first character of the answer. With a byte-level tokenizer that is the
 * distance in tokens. Every document is exactly the requested number of characters long,
 * which lets pretraining data line up with packed sequences (see {@link #document}).
 */
public final class RecallText {

    /** One answer: characters [start, end) of the text, {@code distance} after its earlier copy. */
    public record Answer(int start, int end, int distance) {}

    /** One generated document and its answers (empty for plain corpus text). */
    public record Document(String kind, String text, List<Answer> answers) {}

    /** Shares of each kind in {@link #document}; they need not sum to 1. */
    public record Mix(double corpus, double mqar, double passkey, double copy, double repeat) {
        public Mix {
            if (!(corpus >= 0 && mqar >= 0 && passkey >= 0 && copy >= 0 && repeat >= 0)
                    || !(corpus + mqar + passkey + copy + repeat > 0) || !Double.isFinite(corpus + mqar + passkey + copy + repeat)) {
                throw new BadInputException("mix: expected non-negative finite shares with a positive sum, found corpus="
                        + corpus + " mqar=" + mqar + " passkey=" + passkey + " copy=" + copy + " repeat=" + repeat);
            }
        }

        /** No copy or repeat documents. */
        public Mix(double corpus, double mqar, double passkey) {
            this(corpus, mqar, passkey, 0, 0);
        }
    }

    /** Characters a copied string is drawn from: letters and digits, so that a short n-gram rarely repeats by chance. */
    static final String COPY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    /** Shortest and longest copied string. */
    static final int COPY_MIN = 8;
    static final int COPY_MAX = 64;

    static final String NEEDLE_BEFORE = " The pass key is X";
    static final String NEEDLE_AFTER = ". Remember it.";
    static final String QUESTION = " What is the pass key? The pass key is X";
    static final int PASSKEY_DIGITS = 5;
    /** One "K123" pair plus its separating space. */
    static final int PAIR_CHARS = 5;
    /** Key characters: one distinct capital letter per pair. */
    static final int KEY_COUNT = 26;
    /** The largest "near" MQAR gap (see {@link #mqarGap}): the sliding window's 64 tokens. */
    static final int NEAR_GAP = 64;
    /** Most key-value pairs in one MQAR document by default ({@link #document}). */
    public static final int MAX_PAIRS = 16;

    /** The most key-value pairs an MQAR document of {@code chars} characters can hold (no filler gap). */
    public static int maxPairs(int chars) {
        return Math.max(0, Math.min(KEY_COUNT, (chars - 2) / (2 * PAIR_CHARS)));
    }

    private final String filler;

    /**
     * @param corpus filler text; normalised to ASCII (see {@link #ascii}); at least 4096
     *     characters are needed so that filler windows vary
     */
    public RecallText(String corpus) {
        this.filler = ascii(corpus);
        if (filler.length() < 4096) {
            throw new BadInputException("recall corpus: expected at least 4096 characters of text, found " + filler.length());
        }
    }

    /**
     * ASCII version of a text: typographic quotes and dashes become their ASCII forms, accents
     * are dropped, other non-ASCII characters and control characters other than newline are
     * removed, runs of blank lines become one newline.
     */
    public static String ascii(String text) {
        String s = Normalizer.normalize(text, Normalizer.Form.NFKD)
                .replace('\u2018', '\'').replace('\u2019', '\'')
                .replace('\u201C', '"').replace('\u201D', '"')
                .replace("\u2014", "--").replace('\u2013', '-');
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\r') {
                continue;
            }
            if (c == '\n' || (c >= 32 && c < 127)) {
                if (c == '\n' && !out.isEmpty() && out.charAt(out.length() - 1) == '\n') {
                    continue;
                }
                out.append(c);
            }
        }
        return out.toString();
    }

    /** The smallest passkey distance: the needle's tail and the question between the copies. */
    public static int minPasskeyDistance() {
        return PASSKEY_DIGITS + NEEDLE_AFTER.length() + QUESTION.length();
    }

    /** The smallest MQAR distance for {@code pairs} pairs: the list itself (no filler gap). */
    public static int minMqarDistance(int pairs) {
        return listChars(pairs) + 1;
    }

    /** Characters of a passkey document at {@code distance} without filler before or after it. */
    public static int passkeyChars(int distance) {
        return NEEDLE_BEFORE.length() + PASSKEY_DIGITS + NEEDLE_AFTER.length() + (distance - minPasskeyDistance())
                + QUESTION.length() + PASSKEY_DIGITS + 1;
    }

    /** Characters of an MQAR document without filler before or after it. */
    public static int mqarChars(int pairs, int gap) {
        return 2 * listChars(pairs) + 2 + gap;
    }

    private static int listChars(int pairs) {
        return pairs * PAIR_CHARS;
    }

    /**
     * A passkey document of exactly {@code chars} characters whose answer is {@code distance}
     * after the needle's key; the rest is corpus filler, the needle at a random depth.
     */
    public Document passkey(int chars, int distance, SplittableRandom random) {
        int gap = distance - minPasskeyDistance();
        int fixed = passkeyChars(distance);
        if (gap < 0 || fixed > chars) {
            throw new BadInputException("passkey: distance " + distance + " does not fit " + chars + " characters (expected "
                    + minPasskeyDistance() + ".." + (chars - fixed + distance) + ")");
        }
        StringBuilder key = new StringBuilder();
        for (int i = 0; i < PASSKEY_DIGITS; i++) {
            key.append((char) ('0' + random.nextInt(10)));
        }
        int before = random.nextInt(chars - fixed + 1);
        StringBuilder text = new StringBuilder(chars);
        text.append(fillerSpan(before, random)).append(NEEDLE_BEFORE);
        int first = text.length();
        text.append(key).append(NEEDLE_AFTER).append(fillerSpan(gap, random)).append(QUESTION);
        int answer = text.length();
        text.append(key).append('.');
        text.append(fillerSpan(chars - text.length(), random));
        return new Document("passkey", text.toString(), List.of(new Answer(answer, answer + PASSKEY_DIGITS, answer - first)));
    }

    /**
     * An MQAR document of exactly {@code chars} characters: {@code pairs} key-value pairs, a
     * filler gap of {@code gap} characters, then every pair again as a query, in the list's
     * order (every answer then has the same distance, {@code minMqarDistance(pairs) + gap}) or
     * shuffled. The list starts at a random depth; corpus filler before and after.
     */
    public Document mqar(int chars, int pairs, int gap, boolean shuffled, SplittableRandom random) {
        int fixed = mqarChars(pairs, gap);
        if (pairs < 1 || pairs > KEY_COUNT || gap < 0 || fixed > chars) {
            throw new BadInputException("mqar: " + pairs + " pairs (1.." + maxPairs(chars) + ") and a gap of " + gap
                    + " characters do not fit " + chars + " characters");
        }
        char[] keys = new char[pairs];
        String[] values = new String[pairs];
        boolean[] used = new boolean[KEY_COUNT];
        for (int i = 0; i < pairs; i++) {
            int k;
            do {
                k = random.nextInt(KEY_COUNT);
            } while (used[k]);
            used[k] = true;
            keys[i] = (char) ('A' + k);
            values[i] = "" + (char) ('0' + random.nextInt(10)) + (char) ('0' + random.nextInt(10)) + (char) ('0' + random.nextInt(10));
        }
        int before = random.nextInt(chars - fixed + 1);
        StringBuilder text = new StringBuilder(chars);
        text.append(fillerSpan(before, random));
        int[] valueAt = new int[pairs];
        for (int i = 0; i < pairs; i++) {
            text.append(' ').append(keys[i]);
            valueAt[i] = text.length();
            text.append(values[i]);
        }
        text.append('.').append(fillerSpan(gap, random));
        int[] order = new int[pairs];
        for (int i = 0; i < pairs; i++) {
            order[i] = i;
        }
        if (shuffled) {
            for (int i = pairs - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        List<Answer> answers = new ArrayList<>();
        for (int i : order) {
            text.append(' ').append(keys[i]);
            int at = text.length();
            text.append(values[i]);
            answers.add(new Answer(at, at + 3, at - valueAt[i]));
        }
        text.append('.');
        text.append(fillerSpan(chars - text.length(), random));
        return new Document("mqar", text.toString(), List.copyOf(answers));
    }

    /**
     * A copy document of exactly {@code chars} characters: a random string ({@link #COPY_ALPHABET},
     * {@value #COPY_MIN}-{@value #COPY_MAX} characters) in brackets, corpus filler, and the same
     * string in brackets again, repeated while they fit. After its first character every
     * character of the second copy is predictable only by finding the first: the plainest
     * signal for the induction circuit that all retrieval builds on. Answers: second copies
     * from their second character on.
     */
    public Document copy(int chars, int maxDistance, SplittableRandom random) {
        StringBuilder text = new StringBuilder(chars);
        List<Answer> answers = new ArrayList<>();
        text.append(fillerSpan(random.nextInt(16), random));
        // A string's distance is at least its length + 3 (its bracket and the next " ["), so the
        // longest string is capped to keep every distance within maxDistance.
        if (maxDistance < COPY_MIN + 3) {
            throw new BadInputException("copy: a maximum distance of " + maxDistance + " is shorter than the shortest copy ("
                    + (COPY_MIN + 3) + ")");
        }
        int longest = Math.min(COPY_MAX, maxDistance - 3);
        while (true) {
            int length = COPY_MIN + random.nextInt(longest - COPY_MIN + 1);
            int room = chars - text.length() - 2 * (length + 3);
            if (room < 0) {
                break;
            }
            int gap = random.nextInt(Math.min(room, maxDistance - length - 3) + 1);
            StringBuilder copied = new StringBuilder(length);
            for (int i = 0; i < length; i++) {
                copied.append(COPY_ALPHABET.charAt(random.nextInt(COPY_ALPHABET.length())));
            }
            text.append(" [");
            int first = text.length();
            text.append(copied).append(']').append(fillerSpan(gap, random)).append(" [");
            int second = text.length();
            text.append(copied).append(']');
            answers.add(new Answer(second + 1, second + length, second - first));
        }
        text.append(fillerSpan(chars - text.length(), random));
        return new Document("copy", text.toString(), List.copyOf(answers));
    }

    /**
     * A repeat document of exactly {@code chars} characters: a little corpus filler, then one
     * random string ({@link #COPY_ALPHABET}, {@value #COPY_MIN}-{@value #COPY_MAX} characters)
     * repeated to the end. Its period differs from one document to the next, so no fixed
     * attention offset predicts it: only finding the previous occurrence does (the repeated
     * random sequences on which induction heads are usually studied). Answers: every repetition
     * after the first.
     */
    public Document repeat(int chars, SplittableRandom random) {
        int period = COPY_MIN + random.nextInt(COPY_MAX - COPY_MIN + 1);
        StringBuilder unit = new StringBuilder(period);
        for (int i = 0; i < period; i++) {
            unit.append(COPY_ALPHABET.charAt(random.nextInt(COPY_ALPHABET.length())));
        }
        StringBuilder text = new StringBuilder(chars);
        text.append(fillerSpan(random.nextInt(Math.max(1, Math.min(64, chars - 2 * period))), random)).append(' ');
        int start = text.length();
        while (text.length() < chars) {
            text.append(unit);
        }
        text.setLength(chars);
        List<Answer> answers = start + period < chars ? List.of(new Answer(start + period, chars, period)) : List.of();
        return new Document("repeat", text.toString(), answers);
    }

    /** A window of corpus text of exactly {@code chars} characters. */
    public Document corpus(int chars, SplittableRandom random) {
        return new Document("corpus", fillerSpan(chars, random), List.of());
    }

    /**
     * One pretraining document of exactly {@code chars} characters, its kind drawn from
     * {@code mix}: recall answers at distances spread uniformly from the smallest possible up
     * to {@code maxDistance} (MQAR: 2 to 16 pairs, queries shuffled). With a byte-level
     * tokenizer that adds {@code <s>} and {@code </s>}, documents of {@code seqLen - 2}
     * characters fill packed sequences of {@code seqLen} tokens exactly, one per sequence.
     */
    public Document document(int chars, int maxDistance, Mix mix, SplittableRandom random) {
        return document(chars, maxDistance, mix, 2, MAX_PAIRS, random);
    }

    /**
     * As {@link #document(int, int, Mix, SplittableRandom)} with MQAR documents of
     * {@code minPairs..maxPairs} pairs (uniform): more pairs, more retrieval targets per
     * document (each answer is 3 digits), which is what teaches a small model to retrieve.
     */
    public Document document(int chars, int maxDistance, Mix mix, int minPairs, int maxPairs, SplittableRandom random) {
        if (minPairs < 1 || maxPairs < minPairs || maxPairs > maxPairs(chars)) {
            throw new BadInputException("mqar pairs: expected 1 <= min <= max <= " + maxPairs(chars) + " for documents of "
                    + chars + " characters, found " + minPairs + "-" + maxPairs);
        }
        double total = mix.corpus() + mix.mqar() + mix.passkey() + mix.copy() + mix.repeat();
        double u = random.nextDouble() * total;
        if (u < mix.corpus()) {
            return corpus(chars, random);
        }
        if (u >= mix.corpus() + mix.mqar() + mix.passkey() + mix.copy()) {
            return repeat(chars, random);
        }
        if (u >= mix.corpus() + mix.mqar() + mix.passkey()) {
            return copy(chars, maxDistance, random);
        }
        if (u < mix.corpus() + mix.mqar()) {
            int pairs = minPairs + random.nextInt(maxPairs - minPairs + 1);
            // shuffled queries: the longest distance is the first pair's, queried last
            int longestWithoutGap = minMqarDistance(pairs) + listChars(pairs) - PAIR_CHARS;
            int maxGap = Math.min(chars - 2 * listChars(pairs) - 2, maxDistance - longestWithoutGap);
            return mqar(chars, pairs, mqarGap(maxGap, random), true, random);
        }
        int low = minPasskeyDistance();
        int high = Math.min(maxDistance, chars - passkeyChars(low) + low);
        return passkey(chars, low + random.nextInt(Math.max(1, high - low + 1)), random);
    }

    /**
     * The filler between an MQAR list and its queries: a quarter of the documents get at most
     * {@link #NEAR_GAP} characters, the rest uniform up to {@code maxGap}. Uniform alone left the
     * short distances (queries right after the list) so rare that a teacher answering 83% of
     * MQAR queries 128-960 characters back answered 62% of those 33-48 characters back.
     */
    static int mqarGap(int maxGap, SplittableRandom random) {
        if (maxGap <= 0) {
            return 0;
        }
        int bound = random.nextInt(4) == 0 ? Math.min(maxGap, NEAR_GAP) : maxGap;
        return random.nextInt(bound + 1);
    }

    /** {@code length} characters of filler from a random place, starting after a space. */
    private String fillerSpan(int length, SplittableRandom random) {
        if (length <= 0) {
            return "";
        }
        if (length > filler.length() - 64) {
            throw new BadInputException("recall corpus: " + filler.length() + " characters cannot give a filler span of " + length);
        }
        int start = random.nextInt(filler.length() - length - 32);
        int space = filler.indexOf(' ', start);
        if (space >= 0 && space < start + 32) {
            start = space + 1;
        }
        return filler.substring(start, start + length).replace('\n', ' ');
    }
}
