package dev.lolcats4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** passkey and mqar in "recall" mode: the recall teacher's text format at controlled distances. */
class RecallModeTest {

    /** Non-repeating filler (random words, no digits, no '='), so only planted copies can be recalled. */
    static String filler() {
        String[] words = {"the", "whale", "sea", "ship", "of", "and", "a", "white", "captain", "deck", "harpoon", "mast", "wind"};
        SplittableRandom random = new SplittableRandom(1);
        StringBuilder s = new StringBuilder();
        while (s.length() < 6000) {
            s.append(words[random.nextInt(words.length)]).append(random.nextInt(5) == 0 ? ". " : " ");
        }
        return s.toString();
    }

    @Test
    void aPerfectCopierRecallsEverythingAndATokenModelNothing(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("filler.txt"), filler());
        Path passkey = dir.resolve("passkey.jsonl");
        Files.writeString(passkey, "{\"task\": \"passkey\", \"mode\": \"recall\", \"filler\": \"filler.txt\", \"distances\": [60, 150], \"trials\": 3}\n");
        Path mqar = dir.resolve("mqar.jsonl");
        Files.writeString(mqar, "{\"task\": \"mqar\", \"mode\": \"recall\", \"filler\": \"filler.txt\", \"pairs\": 3, \"distances\": [25, 40, 120], "
                + "\"window\": 32, \"trials\": 2}\n");
        List<EvalTask> tasks = TaskFiles.readAll(List.of(passkey, mqar));
        List<TaskResult> oracle = EvalRunner.run(new Stubs.InductionOracle(), Optional.of(Stubs.charTokenizer(OptionalInt.of(1))),
                OptionalInt.of(1), 1024, tasks, EvalOptions.defaults());
        assertEquals(Map.of("acc@d60", 1.0, "acc@d150", 1.0, "acc_inside", 1.0, "acc_beyond", 1.0, "acc_mean", 1.0),
                oracle.get(0).metrics());
        assertEquals(Map.of("acc@d25", 1.0, "acc@d40", 1.0, "acc@d120", 1.0, "acc_inside", 1.0, "acc_beyond", 1.0, "acc_mean", 1.0),
                oracle.get(1).metrics());
        assertEquals(32L, oracle.get(1).counts().get("window"));
        List<TaskResult> none = EvalRunner.run(new Stubs.ByTokenScorer(id -> 0), Optional.of(Stubs.charTokenizer(OptionalInt.of(1))),
                OptionalInt.of(1), 1024, tasks, EvalOptions.defaults());
        assertEquals(0.0, none.get(0).metrics().get("acc_mean"));
        assertEquals(0.0, none.get(1).metrics().get("acc_mean"));
    }

    @Test
    void probesAnswerWithTheValueFoundExactlyDistanceBefore() {
        dev.lolcats4j.data.RecallText text = new dev.lolcats4j.data.RecallText(filler());
        var tok = Stubs.charTokenizer(OptionalInt.of(1));
        RecallProbes.Probe p = RecallProbes.mqarAtDistance(text, tok, 4, 300, 1024, new SplittableRandom(2));
        assertEquals(4, p.answerSpans().size());
        for (int[] span : p.answerSpans()) {
            assertEquals(3, span[1] - span[0]);
            for (int i = span[0]; i < span[1]; i++) {
                assertEquals(p.ids()[i - 300], p.ids()[i], "the answer repeats the value 300 tokens earlier");
                assertTrue(Character.isDigit(p.ids()[i]));
            }
        }
        RecallProbes.Probe k = RecallProbes.passkeyAtDistance(text, tok, 500, 1024, new SplittableRandom(3));
        int[] span = k.answerSpans().get(0);
        assertEquals('.', k.ids()[span[1]], "the answer ends the question");
        for (int i = span[0]; i < span[1]; i++) {
            assertEquals(k.ids()[i - 500], k.ids()[i]);
        }
        assertThrows(BadInputException.class, () -> RecallProbes.passkeyAtDistance(text, tok, 1000, 512, new SplittableRandom(3)));
    }

    @Test
    void recallOptionsAreChecked(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("filler.txt"), filler());
        String[] bad = {
            "{\"task\": \"mqar\", \"mode\": \"recall\", \"distances\": [100]}",
            "{\"task\": \"mqar\", \"mode\": \"recall\", \"filler\": \"missing.txt\"}",
            "{\"task\": \"mqar\", \"mode\": \"recall\", \"filler\": \"filler.txt\", \"pairs\": 40}",
            "{\"task\": \"mqar\", \"mode\": \"recall\", \"filler\": \"filler.txt\", \"pairs\": 4, \"distances\": [10]}",
            "{\"task\": \"mqar\", \"mode\": \"recall\", \"filler\": \"filler.txt\", \"lengths\": [100]}",
            "{\"task\": \"mqar\", \"distances\": [100]}",
            "{\"task\": \"passkey\", \"mode\": \"ids\", \"filler\": \"filler.txt\"}",
            "{\"task\": \"passkey\", \"mode\": \"recall\", \"filler\": \"filler.txt\", \"distances\": [30]}",
        };
        for (String header : bad) {
            Path f = dir.resolve("t.jsonl");
            Files.writeString(f, header + "\n");
            BadInputException e = assertThrows(BadInputException.class, () -> TaskFiles.read(f), header);
            assertTrue(e.getMessage().startsWith(f + ":1: "), e.getMessage());
        }
    }
}
