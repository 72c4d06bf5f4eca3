package dev.lolcats4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TaskFilesTest {

    @TempDir
    Path dir;

    Path write(String name, String... lines) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, String.join("\n", lines) + "\n");
        return f;
    }

    String error(Path f) {
        BadInputException e = assertThrows(BadInputException.class, () -> TaskFiles.read(f));
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void malformedJsonNamesFileAndLine() throws IOException {
        Path f = write("mc.jsonl",
                "{\"context\": \"a\", \"choices\": [\"x\", \"y\"], \"gold\": 0}",
                "",
                "{\"context\": \"b\", \"choices\": [\"x\", \"y\"], \"gold\": 0",
                "{\"context\": \"c\", \"choices\": [\"x\", \"y\"], \"gold\": 1}");
        String m = error(f);
        assertTrue(m.startsWith(f + ":3: malformed JSON"), m);
    }

    @Test
    void badFieldsNameFileAndLine() throws IOException {
        assertTrue(error(write("gold.jsonl", "{\"task\": \"multiple_choice\"}",
                "{\"context\": \"a\", \"choices\": [\"x\", \"y\"], \"gold\": 2}")).contains("gold.jsonl:2: gold:"));
        assertTrue(error(write("few.jsonl", "{\"context\": \"a\", \"choices\": [\"x\"], \"gold\": 0}"))
                .contains("few.jsonl:1: choices:"));
        assertTrue(error(write("extra.jsonl", "{\"context\": \"a\", \"choices\": [\"x\", \"y\"], \"gold\": 0, \"label\": 1}"))
                .contains("extra.jsonl:1: unknown field \"label\""));
        assertTrue(error(write("opt.jsonl", "{\"task\": \"mqar\", \"length\": [64]}")).contains("opt.jsonl:1: unknown option \"length\""));
        assertTrue(error(write("kind.jsonl", "{\"task\": \"hellaswag\"}")).contains("kind.jsonl:1: task:"));
        assertTrue(error(write("what.jsonl", "{\"question\": \"?\"}")).contains("what.jsonl:1: cannot tell the task kind"));
        assertTrue(error(write("late.jsonl", "{\"text\": \"abc\"}", "{\"task\": \"perplexity\"}")).contains("late.jsonl:2:"));
    }

    @Test
    void taskWithoutItemsIsAnError() throws IOException {
        assertTrue(error(write("header.jsonl", "{\"task\": \"multiple_choice\", \"name\": \"x\"}")).contains("no items"));
        assertTrue(error(write("empty.jsonl", "", "  ")).contains("no items"));
        assertTrue(error(write("ppl.jsonl", "{\"task\": \"perplexity\"}")).contains("no items"));
        assertTrue(error(write("k.jsonl", "{\"task\": \"multiple_choice\", \"num_fewshot\": 1}",
                "{\"context\": \"a\", \"choices\": [\"x\", \"y\"], \"gold\": 0}")).contains("k.jsonl:1: num_fewshot"));
    }

    @Test
    void readsEachKind() throws IOException {
        EvalTask.MultipleChoiceTask mc = assertInstanceOf(EvalTask.MultipleChoiceTask.class, TaskFiles.read(write("piqa.jsonl",
                "{\"context\": \"Sky:\", \"choices\": [\" blue\", \" green\"], \"gold\": 0}",
                "{\"context\": \"Grass:\", \"choices\": [\" blue\", \" green\", \" red\"], \"gold\": 1}")));
        assertEquals("piqa", mc.name());
        assertEquals(2, mc.items().size());
        assertEquals(List.of(" blue", " green", " red"), mc.items().get(1).choices());
        assertEquals(2, mc.items().get(1).line());

        Files.writeString(dir.resolve("a.txt"), "held out text");
        EvalTask.PerplexityTask ppl = assertInstanceOf(EvalTask.PerplexityTask.class, TaskFiles.read(write("p.jsonl",
                "{\"task\": \"perplexity\", \"name\": \"wiki\", \"files\": [\"a.txt\"], \"windows\": \"sliding\", \"context\": 512, \"stride\": 128}",
                "{\"text\": \"inline\"}")));
        assertEquals("wiki", ppl.name());
        assertEquals(List.of(dir.resolve("a.txt").toAbsolutePath()), ppl.files());
        assertEquals(1, ppl.texts().size());
        assertTrue(ppl.sliding());
        assertEquals(512, ppl.context());
        assertEquals(128, ppl.stride());

        EvalTask.PerplexityTask txt = assertInstanceOf(EvalTask.PerplexityTask.class, TaskFiles.read(dir.resolve("a.txt")));
        assertEquals(List.of(dir.resolve("a.txt")), txt.files());

        EvalTask.PasskeyTask pk = assertInstanceOf(EvalTask.PasskeyTask.class,
                TaskFiles.read(write("pk.jsonl", "{\"task\": \"passkey\", \"lengths\": [128, 256], \"trials\": 3}")));
        assertEquals(List.of(128, 256), pk.lengths());
        assertEquals(3, pk.trials());
        assertEquals("auto", pk.mode());

        EvalTask.MqarTask mq = assertInstanceOf(EvalTask.MqarTask.class, TaskFiles.read(write("mq.jsonl", "{\"task\": \"mqar\"}")));
        assertEquals(List.of(64, 128, 256, 512), mq.lengths());
        assertTrue(error(write("mq2.jsonl", "{\"task\": \"mqar\"}", "{\"text\": \"x\"}")).contains("mq2.jsonl:2: mqar is synthetic"));
        assertTrue(error(write("missing.jsonl", "{\"task\": \"perplexity\", \"files\": [\"nope.txt\"]}")).contains("missing.jsonl:1: files"));
    }
}
