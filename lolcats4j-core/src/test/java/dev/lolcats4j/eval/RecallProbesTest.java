package dev.lolcats4j.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.tokenizer.Tokenizer;
import dev.lolcats4j.tokenizer.Tokenizers;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RecallProbesTest {

    static final OptionalInt BOS = OptionalInt.of(1);

    @Test
    void mqarSequencesHaveTheDocumentedShape() {
        RecallProbes.Probe p = RecallProbes.mqar(65, 0, 256, 3, BOS, new SplittableRandom(5));
        int[] ids = p.ids();
        assertEquals(65, ids.length);
        assertEquals(1, ids[0]);
        // 16 pairs, then 16 queries; each answer is the value that followed its key in the pairs
        Map<Integer, Integer> pairs = new HashMap<>();
        for (int i = 0; i < 16; i++) {
            int key = ids[1 + 2 * i];
            int value = ids[2 + 2 * i];
            assertTrue(key >= 4 && key < 4 + 126, "key " + key);
            assertTrue(value >= 4 + 126 && value < 256, "value " + value);
            assertTrue(pairs.put(key, value) == null, "keys are distinct");
        }
        assertEquals(16, p.answerSpans().size());
        Set<Integer> queried = new HashSet<>();
        for (int[] span : p.answerSpans()) {
            assertEquals(span[0] + 1, span[1]);
            assertTrue(span[0] > 32);
            assertEquals(pairs.get(ids[span[0] - 1]), ids[span[0]]);
            queried.add(ids[span[0] - 1]);
        }
        assertEquals(pairs.keySet(), queried);
        assertArrayEquals(ids, RecallProbes.mqar(65, 0, 256, 3, BOS, new SplittableRandom(5)).ids());
        assertFalse(Arrays.equals(ids, RecallProbes.mqar(65, 0, 256, 3, BOS, new SplittableRandom(6)).ids()));
    }

    @Test
    void passkeyIdsHideTheKeyOnceAndAskForItAtTheEnd() {
        RecallProbes.Probe p = RecallProbes.passkeyIds(200, 5, 256, 3, BOS, new SplittableRandom(9));
        int[] ids = p.ids();
        assertEquals(200, ids.length);
        int[] span = p.answerSpans().get(0);
        assertEquals(195, span[0]);
        int[] key = Arrays.copyOfRange(ids, 195, 200);
        assertArrayEquals(new int[] {3, 4}, Arrays.copyOfRange(ids, 193, 195)); // marker
        int found = 0;
        for (int i = 1; i + 7 <= 193; i++) {
            if (ids[i] == 3 && ids[i + 1] == 4) {
                assertArrayEquals(key, Arrays.copyOfRange(ids, i + 2, i + 7));
                found++;
            }
        }
        assertEquals(1, found);
    }

    @Test
    void aPerfectCopierScoresOneAndAModelWithoutRecallZero() {
        List<Integer> lengths = List.of(32, 64, 128);
        RecallProbes.ProbeFactory mqar = (len, r) -> RecallProbes.mqar(len, 0, 256, 3, BOS, r);
        RecallProbes.ProbeFactory passkey = (len, r) -> RecallProbes.passkeyIds(len, 5, 256, 3, BOS, r);
        for (RecallProbes.ProbeFactory f : List.of(mqar, passkey)) {
            RecallProbes.Result copier = RecallProbes.evaluate(new Stubs.InductionOracle(), lengths, 4, 1, f);
            assertEquals(Map.of(32, 1.0, 64, 1.0, 128, 1.0), copier.accuracyByLength());
            RecallProbes.Result none = RecallProbes.evaluate(new Stubs.ByTokenScorer(id -> 0), lengths, 4, 1, f);
            assertEquals(0.0, none.meanAccuracy());
        }
    }

    @Test
    void passkeyTextFitsTheLengthAndAnswersWithTheKey() {
        Path dir = Path.of("src/test/resources/tokenizer/llama2");
        try (Tokenizer tok = Tokenizers.forModel(dir).orElseThrow()) {
            for (int length : new int[] {128, 512}) {
                RecallProbes.Probe p = RecallProbes.passkeyText(length, 5, tok, new SplittableRandom(length));
                assertTrue(p.ids().length <= length && p.ids().length > length - 40, "length " + p.ids().length);
                int[] span = p.answerSpans().get(0);
                assertEquals(p.ids().length, span[1]);
                String answer = tok.decode(Arrays.copyOfRange(p.ids(), span[0], span[1])).strip();
                assertTrue(answer.matches("\\d{5}"), answer);
                String text = tok.decode(p.ids());
                assertTrue(text.contains("The pass key is " + answer + ". Remember it."), text);
            }
        }
    }
}
