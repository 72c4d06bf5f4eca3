package dev.lolcats4j.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MultipleChoiceTest {

    static final Tokenizer CHARS = Stubs.charTokenizer(OptionalInt.empty());

    /** Per-token log-likelihoods chosen by hand: a = -2, b = -1, c = -0.5, é = -3 (é is 2 UTF-8 bytes). */
    static double lp(int id) {
        return switch (id) {
            case 'a' -> -2;
            case 'b' -> -1;
            case 'c' -> -0.5;
            case 'é' -> -3;
            default -> -100; // context tokens; never part of a continuation sum
        };
    }

    static MultipleChoice.Item item(int gold, String... choices) {
        return new MultipleChoice.Item("Q", List.of(choices), gold, 0);
    }

    @Test
    void accAndAccNormMatchHandWorkedValues() {
        List<MultipleChoice.Item> items = List.of(
                item(1, "a", "bbbb"),     // LL -2, -4 -> acc picks 0 (wrong); per byte -2, -1 -> norm picks 1 (right)
                item(0, "a", "bb"),       // LL -2, -2 tie -> first, 0 (right); per byte -2, -1 -> 1 (wrong)
                item(0, "c", "a"),        // LL -0.5, -2 -> 0 (right); per byte -0.5, -2 -> 0 (right)
                item(0, "a", "c"),        // LL -2, -0.5 -> 1 (wrong); per byte -2, -0.5 -> 1 (wrong)
                item(0, "bbbb", "a"),     // LL -4, -2 -> 1 (wrong); per byte -1, -2 -> 0 (right)
                item(0, "é", "a"));       // LL -3, -2 -> 1 (wrong); per byte -3/2 = -1.5 vs -2 -> 0 (right)
        MultipleChoice.Result r = MultipleChoice.evaluate(new Stubs.ByTokenScorer(MultipleChoiceTest::lp), CHARS, items,
                MultipleChoice.Options.zeroShot(1024));
        assertArrayEquals(new int[] {0, 0, 0, 1, 1, 1}, r.predicted());
        assertArrayEquals(new int[] {1, 1, 0, 1, 0, 0}, r.predictedNorm());
        assertEquals(2.0 / 6, r.acc(), 1e-12);     // items 2 and 3
        assertEquals(4.0 / 6, r.accNorm(), 1e-12); // items 1, 3, 5 and 6
    }

    @Test
    void trailingSpaceOfTheContextMovesToTheContinuation() {
        MultipleChoice.Request r = MultipleChoice.encode(CHARS, "Q: ", "ab", 100);
        assertArrayEquals(new int[] {'Q', ':', ' ', 'a', 'b'}, r.ids());
        assertEquals(2, r.continuationStart()); // " ab" is scored, the space included
    }

    @Test
    void longPromptsLoseTokensOnTheLeft() {
        MultipleChoice.Request r = MultipleChoice.encode(CHARS, "0123456789", "ab", 5);
        assertArrayEquals(new int[] {'7', '8', '9', 'a', 'b'}, r.ids());
        assertEquals(3, r.continuationStart());
    }

    static List<MultipleChoice.Item> numbered(int n) {
        List<MultipleChoice.Item> items = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            items.add(new MultipleChoice.Item("q" + i + ":", List.of(" right" + i, " wrong" + i), 0, i + 1));
        }
        return items;
    }

    @Test
    void fewShotPromptsAreDeterministicPerSeedAndExcludeTheQuestion() {
        List<MultipleChoice.Item> items = numbered(12);
        MultipleChoice.Options seed1 = new MultipleChoice.Options(3, 1, "\n\n", 1024);
        MultipleChoice.Options seed1Again = new MultipleChoice.Options(3, 1, "\n\n", 1024);
        MultipleChoice.Options seed2 = new MultipleChoice.Options(3, 2, "\n\n", 1024);
        int differing = 0;
        for (int i = 0; i < items.size(); i++) {
            String p = MultipleChoice.prompt(items, i, seed1);
            assertEquals(p, MultipleChoice.prompt(items, i, seed1Again));
            differing += p.equals(MultipleChoice.prompt(items, i, seed2)) ? 0 : 1;
            // shape: three solved examples, each "qJ: rightJ" with J != i and distinct, then the question
            String[] parts = p.split("\n\n");
            assertEquals(4, parts.length, p);
            assertEquals("q" + i + ":", parts[3]);
            Set<String> shots = new HashSet<>();
            for (int s = 0; s < 3; s++) {
                assertTrue(parts[s].matches("q(\\d+): right\\1"), parts[s]);
                assertNotEquals("q" + i + ": right" + i, parts[s]);
                shots.add(parts[s]);
            }
            assertEquals(3, shots.size(), "distinct examples: " + p);
        }
        assertTrue(differing >= 6, "another seed should change most prompts; changed " + differing + " of 12");
    }

    @Test
    void fewShotDrawDependsOnlyOnSeedAndIndex() {
        int[] a = MultipleChoice.fewshotIndices(50, 7, 5, 42);
        int[] b = MultipleChoice.fewshotIndices(50, 7, 5, 42);
        assertArrayEquals(a, b);
        assertTrue(Arrays.stream(a).noneMatch(i -> i == 7));
        assertTrue(!Arrays.equals(a, MultipleChoice.fewshotIndices(50, 7, 5, 43)));
    }

    @Test
    void fewShotExamplesAreScoredAsContextOnly() {
        List<MultipleChoice.Item> items = List.of(
                new MultipleChoice.Item("A", List.of("a", "b"), 0, 1),
                new MultipleChoice.Item("B", List.of("c", "a"), 1, 2));
        Stubs.ByTokenScorer scorer = new Stubs.ByTokenScorer(MultipleChoiceTest::lp);
        MultipleChoice.evaluate(scorer, CHARS, items, new MultipleChoice.Options(1, 7, "|", 1024));
        // item 0's prompt is item 1 solved ("B" + "a") then "|A"; item 1's is "Aa|B"
        assertEquals(List.of("Ba|Aa", "Ba|Ab", "Aa|Bc", "Aa|Ba"),
                scorer.seen.stream().map(ids -> new String(ids, 0, ids.length)).toList());
    }
}
