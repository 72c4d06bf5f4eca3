package dev.lolcats4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClozeTaskBuilderTest {

    static final List<String> SENTENCES = List.of(
            "The old lighthouse keeper climbed the stairs every night at nine.",
            "Her brother baked bread for the whole village on Sundays.",
            "A small fox crossed the frozen river before the sun came up.",
            "The committee postponed the vote until the budget was clear.",
            "Rain kept falling on the tin roof of the empty station.",
            "Nobody expected the quiet student to win the chess tournament!",
            "Too short to use.");

    @TempDir
    Path dir;

    @Test
    void itemsAreSentencesCutInTwoWithOtherSentencesEndingsAsDistractors() throws Exception {
        String text = String.join("  ", SENTENCES).replace("Sundays. ", "Sundays.\n");
        List<MultipleChoice.Item> items = ClozeTaskBuilder.build(text, new ClozeTaskBuilder.Options(3, 100, 7, 8));
        assertEquals(6, items.size()); // the short sentence is skipped
        Set<String> rebuilt = new HashSet<>();
        for (MultipleChoice.Item item : items) {
            assertEquals(3, item.choices().size());
            assertEquals(3, new HashSet<>(item.choices()).size());
            String sentence = item.context() + item.choices().get(item.gold());
            assertTrue(SENTENCES.contains(sentence), sentence);
            rebuilt.add(sentence);
            for (int c = 0; c < 3; c++) {
                String ending = item.choices().get(c);
                assertTrue(ending.startsWith(" "), ending);
                long owners = SENTENCES.stream().filter(s -> s.endsWith(ending)).count();
                assertTrue(owners >= 1, "every choice ends some sentence: " + ending);
                if (c != item.gold()) {
                    assertTrue(!sentence.endsWith(ending), "distractor from another sentence: " + ending);
                }
            }
        }
        assertEquals(6, rebuilt.size());
        // deterministic for a seed, different for another
        assertEquals(items, ClozeTaskBuilder.build(text, new ClozeTaskBuilder.Options(3, 100, 7, 8)));
        assertNotEquals(items, ClozeTaskBuilder.build(text, new ClozeTaskBuilder.Options(3, 100, 8, 8)));
        // written as a task file that reads back the same
        Path task = dir.resolve("cloze.jsonl");
        ClozeTaskBuilder.write(items, task, "cloze");
        EvalTask.MultipleChoiceTask read = (EvalTask.MultipleChoiceTask) TaskFiles.read(task);
        assertEquals("cloze", read.name());
        for (int i = 0; i < items.size(); i++) {
            assertEquals(items.get(i).context(), read.items().get(i).context());
            assertEquals(items.get(i).choices(), read.items().get(i).choices());
            assertEquals(items.get(i).gold(), read.items().get(i).gold());
        }
    }

    @Test
    void tooLittleTextIsAnError() throws Exception {
        Path f = dir.resolve("small.txt");
        Files.writeString(f, "Just one sentence that is long enough to count here.");
        BadInputException e = assertThrows(BadInputException.class,
                () -> ClozeTaskBuilder.buildFile(f, dir.resolve("out.jsonl"), "x", ClozeTaskBuilder.Options.defaults()));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
    }
}
