package dev.lolcats4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lolcats4j.BadInputException;
import java.util.List;
import org.junit.jupiter.api.Test;

class PerplexityTest {

    @Test
    void chunkedWindowsOverlapByOneToken() {
        // 10 tokens, 4 per window: targets 1-3, then 4-6 (with token 3 as context), then 7-9
        assertEquals(List.of(new Perplexity.Window(0, 4, 1), new Perplexity.Window(3, 7, 4), new Perplexity.Window(6, 10, 7)),
                Perplexity.Windows.chunked(4).over(10));
    }

    @Test
    void slidingWindowsKeepContextAndScoreEachTokenOnce() {
        // 8 tokens, context 4, stride 2: targets 1-3; then 4-5 seen from token 2; then 6-7 from token 4
        assertEquals(List.of(new Perplexity.Window(0, 4, 1), new Perplexity.Window(2, 6, 4), new Perplexity.Window(4, 8, 6)),
                Perplexity.Windows.sliding(4, 2).over(8));
    }

    @Test
    void windowLargerThanTheDocumentIsOnePass() {
        assertEquals(List.of(new Perplexity.Window(0, 5, 1)), Perplexity.Windows.chunked(64).over(5));
    }

    @Test
    void statsSumEveryScoredTokenOnce() {
        // ids 1..10 with log p(token) = -id: targets are ids 2..10, NLL = 2+3+...+10 = 54 nats over 9 tokens
        int[] ids = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        Stubs.ByTokenScorer scorer = new Stubs.ByTokenScorer(id -> -id);
        for (Perplexity.Windows w : List.of(Perplexity.Windows.chunked(4), Perplexity.Windows.sliding(5, 2),
                Perplexity.Windows.sliding(3, 1), Perplexity.Windows.chunked(100))) {
            Perplexity.Stats s = Perplexity.evaluate(scorer, List.of(new Perplexity.Document("d", ids, 20)), w);
            assertEquals(9, s.tokens(), w.toString());
            assertEquals(54, s.nllSum(), 1e-12, w.toString());
            assertEquals(Math.exp(6), s.tokenPerplexity(), 1e-9, w.toString());
            assertEquals(54 / (20 * Math.log(2)), s.bitsPerByte(), 1e-12, w.toString());
        }
    }

    @Test
    void strideMustLeaveContext() {
        assertThrows(BadInputException.class, () -> Perplexity.Windows.sliding(4, 4));
        assertThrows(BadInputException.class, () -> Perplexity.Windows.chunked(1));
    }
}
