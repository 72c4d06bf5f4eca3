package dev.lolcats4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.BadInputException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RecallTextTest {

    /** Filler with no digits and no '=' so that every recall copy found below is a planted one. */
    static final String CORPUS = "Call me Ishmael. Some years ago\u2014never mind how long precisely\u2014having little or no money "
            .repeat(80) + "\u201Cquoted\u201D caf\u00E9 \u2603 end.";

    @Test
    void asciiKeepsTextAndDropsWhatIsNotAscii() {
        assertEquals("it's \"so\" -- cafe end\nnext", RecallText.ascii("it\u2019s \u201Cso\u201D \u2014 caf\u00E9 \u2603end\r\n\n\nnext"));
    }

    @Test
    void passkeyAnswerRepeatsTheNeedleExactlyDistanceBefore() {
        RecallText gen = new RecallText(CORPUS);
        for (int distance : new int[] {RecallText.minPasskeyDistance(), 128, 700}) {
            RecallText.Document doc = gen.passkey(1000, distance, new SplittableRandom(distance));
            assertEquals(1000, doc.text().length());
            assertEquals(1, doc.answers().size());
            RecallText.Answer a = doc.answers().get(0);
            assertEquals(distance, a.distance());
            String key = doc.text().substring(a.start(), a.end());
            assertTrue(key.matches("\\d{5}"), key);
            assertTrue(doc.text().substring(0, a.start()).endsWith("What is the pass key? The pass key is X"));
            int first = a.start() - distance;
            assertEquals(key, doc.text().substring(first, first + 5));
            assertTrue(doc.text().substring(0, first).endsWith(" The pass key is X"));
            // the key appears exactly twice: needle and answer
            assertEquals(2, doc.text().split(key, -1).length - 1);
        }
        assertThrows(BadInputException.class, () -> gen.passkey(1000, RecallText.minPasskeyDistance() - 1, new SplittableRandom(1)));
        assertThrows(BadInputException.class, () -> gen.passkey(200, 300, new SplittableRandom(1)));
    }

    @Test
    void mqarQueriesInOrderAllSitAtTheRequestedDistance() {
        RecallText gen = new RecallText(CORPUS);
        int pairs = 4;
        int distance = 300;
        RecallText.Document doc = gen.mqar(900, pairs, distance - RecallText.minMqarDistance(pairs), false, new SplittableRandom(3));
        assertEquals(900, doc.text().length());
        assertEquals(pairs, doc.answers().size());
        Set<String> keys = new HashSet<>();
        for (RecallText.Answer a : doc.answers()) {
            assertEquals(distance, a.distance());
            String value = doc.text().substring(a.start(), a.end());
            assertTrue(value.matches("\\d{3}"), value);
            String key = doc.text().substring(a.start() - 2, a.start());
            assertTrue(key.matches(" [A-Z]"), key);
            assertTrue(keys.add(key), "keys are distinct");
            int first = a.start() - a.distance();
            assertEquals(key + value, doc.text().substring(first - 2, first + 3));
        }
    }

    @Test
    void shuffledMqarAnswersPointAtTheirOwnPair() {
        RecallText gen = new RecallText(CORPUS);
        RecallText.Document doc = gen.mqar(1022, 16, 100, true, new SplittableRandom(11));
        List<Integer> distances = new ArrayList<>();
        for (RecallText.Answer a : doc.answers()) {
            int first = a.start() - a.distance();
            assertEquals(doc.text().substring(a.start() - 2, a.end()), doc.text().substring(first - 2, first + 3));
            distances.add(a.distance());
        }
        assertTrue(new HashSet<>(distances).size() > 1, "shuffled queries have varied distances");
    }

    @Test
    void everyKeyLetterCanBeUsedOnceAndNoMore() {
        RecallText gen = new RecallText(CORPUS);
        RecallText.Document doc = gen.mqar(1022, 26, 0, true, new SplittableRandom(4));
        Set<Character> keys = new HashSet<>();
        for (RecallText.Answer a : doc.answers()) {
            keys.add(doc.text().charAt(a.start() - 1));
        }
        assertEquals(26, keys.size());
        assertEquals(26, RecallText.maxPairs(100_000));
        assertThrows(BadInputException.class, () -> gen.mqar(1022, 27, 0, true, new SplittableRandom(4)));
    }

    @Test
    void copyDocumentsRepeatEachStringAtItsDistance() {
        RecallText gen = new RecallText(CORPUS);
        for (int seed = 0; seed < 20; seed++) {
            RecallText.Document doc = gen.copy(254, 200, new SplittableRandom(seed));
            assertEquals(254, doc.text().length());
            assertEquals("copy", doc.kind());
            assertTrue(!doc.answers().isEmpty(), "at least one copy fits 254 characters");
            for (RecallText.Answer a : doc.answers()) {
                String second = doc.text().substring(a.start() - 1, a.end());
                int first = a.start() - a.distance();
                assertEquals(second, doc.text().substring(first - 1, first - 1 + second.length()), "the copy repeats its string");
                assertEquals('[', doc.text().charAt(a.start() - 2));
                assertEquals(']', doc.text().charAt(a.end()));
                assertTrue(second.length() >= 8 && second.length() <= 64, second);
                assertTrue(a.distance() <= 200, "distance " + a.distance());
            }
            // The smallest --max-distance the command allows: strings shrink to fit it.
            for (RecallText.Answer a : gen.copy(254, 59, new SplittableRandom(seed)).answers()) {
                assertTrue(a.distance() <= 59, "distance " + a.distance() + " > 59");
            }
        }
        assertThrows(BadInputException.class, () -> gen.copy(254, 10, new SplittableRandom(1)));
        RecallText.Mix onlyCopies = new RecallText.Mix(0, 0, 0, 1, 0);
        assertEquals("copy", gen.document(254, 200, onlyCopies, new SplittableRandom(1)).kind());
        assertThrows(BadInputException.class, () -> new RecallText.Mix(0, 0, 0, -1, 0));
    }

    @Test
    void repeatDocumentsRepeatOneStringWithTheirOwnPeriod() {
        RecallText gen = new RecallText(CORPUS);
        Set<Integer> periods = new HashSet<>();
        for (int seed = 0; seed < 20; seed++) {
            RecallText.Document doc = gen.repeat(254, new SplittableRandom(seed));
            assertEquals(254, doc.text().length());
            RecallText.Answer a = doc.answers().get(0);
            int p = a.distance();
            periods.add(p);
            assertTrue(p >= 8 && p <= 64, "period " + p);
            for (int i = a.start(); i < a.end(); i++) {
                assertEquals(doc.text().charAt(i - p), doc.text().charAt(i), "position " + i);
            }
        }
        assertTrue(periods.size() > 5, "periods vary: " + periods);
        assertEquals("repeat", gen.document(254, 200, new RecallText.Mix(0, 0, 0, 0, 1), new SplittableRandom(2)).kind());
    }

    @Test
    void pretrainingDocumentsAreExactAsciiAndFollowTheMixAndTheSeed() {
        RecallText gen = new RecallText(CORPUS);
        RecallText.Mix mix = new RecallText.Mix(0.4, 0.4, 0.2);
        SplittableRandom random = new SplittableRandom(7);
        int[] kinds = new int[3];
        int maxSeen = 0;
        for (int i = 0; i < 500; i++) {
            RecallText.Document doc = gen.document(1022, 1000, mix, random);
            assertEquals(1022, doc.text().length());
            assertTrue(doc.text().chars().allMatch(c -> c >= 32 && c < 127), "printable ASCII");
            kinds[switch (doc.kind()) { case "corpus" -> 0; case "mqar" -> 1; default -> 2; }]++;
            for (RecallText.Answer a : doc.answers()) {
                assertTrue(a.distance() <= 1000 && a.distance() > 0);
                maxSeen = Math.max(maxSeen, a.distance());
            }
        }
        assertTrue(kinds[0] > 150 && kinds[0] < 250 && kinds[1] > 150 && kinds[1] < 250 && kinds[2] > 60 && kinds[2] < 140,
                java.util.Arrays.toString(kinds));
        assertTrue(maxSeen > 900, "distances reach the top of the range: " + maxSeen);
        assertEquals(gen.document(1022, 1000, mix, new SplittableRandom(5)), gen.document(1022, 1000, mix, new SplittableRandom(5)));
        assertNotEquals(gen.document(1022, 1000, mix, new SplittableRandom(5)).text(),
                gen.document(1022, 1000, mix, new SplittableRandom(6)).text());
        assertThrows(BadInputException.class, () -> new RecallText.Mix(0, 0, 0));
        assertThrows(BadInputException.class, () -> new RecallText.Mix(Double.NaN, 1, 1));
        assertThrows(BadInputException.class, () -> new RecallText("too short"));
    }

    @Test
    void aQuarterOfMqarGapsAreNearTheRestSpreadToTheMaximum() {
        SplittableRandom random = new SplittableRandom(3);
        int near = 0;
        int far = 0;
        int n = 20_000;
        for (int i = 0; i < n; i++) {
            int gap = RecallText.mqarGap(900, random);
            assertTrue(gap >= 0 && gap <= 900, "gap " + gap);
            near += gap <= RecallText.NEAR_GAP ? 1 : 0;
            far += gap > 800 ? 1 : 0;
        }
        // P(gap <= 64) = 1/4 + 3/4 * 65/901 = 0.304; P(gap > 800) = 3/4 * 100/901 = 0.083
        assertEquals(0.304, near / (double) n, 0.015);
        assertEquals(0.083, far / (double) n, 0.01);
        assertEquals(0, RecallText.mqarGap(0, random));
        assertTrue(RecallText.mqarGap(10, random) <= 10);
    }
}
