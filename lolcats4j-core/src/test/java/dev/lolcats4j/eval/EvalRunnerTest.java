package dev.lolcats4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lolcats4j.BadInputException;
import dev.lolcats4j.testing.ParityFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalRunnerTest {

    @TempDir
    Path dir;

    @Test
    void runsTextTasksThroughTheScorer() throws Exception {
        Path mc = dir.resolve("mc.jsonl");
        Files.writeString(mc, """
                {"task": "multiple_choice", "name": "toy"}
                {"context": "Q", "choices": ["a", "bbbb"], "gold": 1}
                {"context": "Q", "choices": ["c", "a"], "gold": 0}
                """);
        Path txt = dir.resolve("held.txt");
        Files.writeString(txt, "abcab"); // 5 tokens with the char tokenizer: targets b, c, a, b
        List<TaskResult> results = EvalRunner.run(new Stubs.ByTokenScorer(MultipleChoiceTest::lp),
                Optional.of(Stubs.charTokenizer(OptionalInt.empty())), OptionalInt.empty(), 64,
                TaskFiles.readAll(List.of(mc, txt)), EvalOptions.defaults());
        // item 1: LL -2 vs -4 -> acc wrong, per byte -2 vs -1 -> norm right; item 2 right both ways
        assertEquals(0.5, results.get(0).metrics().get("acc"), 1e-12);
        assertEquals(1.0, results.get(0).metrics().get("acc_norm"), 1e-12);
        // NLL = 1 + 0.5 + 2 + 1 = 4.5 nats over 4 tokens and 5 bytes
        assertEquals(Math.exp(4.5 / 4), results.get(1).metrics().get("token_perplexity"), 1e-12);
        assertEquals(4.5 / (5 * Math.log(2)), results.get(1).metrics().get("bits_per_byte"), 1e-12);
        assertEquals(4L, results.get(1).counts().get("tokens"));
    }

    @Test
    void defaultContextNeverExceedsTheModelsMaxPositions() throws Exception {
        Path task = dir.resolve("ppl.jsonl");
        Files.writeString(task, """
                {"task": "perplexity", "name": "long", "context": 1024}
                {"text": "abcabcabcabcabcabcabcabcabcabc"}
                """);
        Path txt = dir.resolve("plain.txt");
        Files.writeString(txt, "abcabcabcabcabcabcabcabcabcabc");
        List<EvalTask> tasks = TaskFiles.readAll(List.of(task, txt));
        // The task asks for 1024 and the default would be 2048: an 8-position model gets 8.
        for (TaskResult r : EvalRunner.run(new Stubs.ByTokenScorer(id -> -1), Optional.of(Stubs.charTokenizer(OptionalInt.empty())),
                OptionalInt.empty(), 8, tasks, EvalOptions.defaults())) {
            assertEquals(8L, r.counts().get("context"), r.task());
        }
        // An explicit --context is the user's choice and is kept.
        EvalOptions explicit = new EvalOptions(EvalOptions.defaults().computeType(), 4096, 12, 0, null, null, null);
        for (TaskResult r : EvalRunner.run(new Stubs.ByTokenScorer(id -> -1), Optional.of(Stubs.charTokenizer(OptionalInt.empty())),
                OptionalInt.empty(), 8, tasks, explicit)) {
            assertEquals(12L, r.counts().get("context"), r.task());
        }
    }

    @Test
    void textTasksNeedATokenizer() throws Exception {
        Path txt = dir.resolve("held.txt");
        Files.writeString(txt, "abc");
        BadInputException e = assertThrows(BadInputException.class, () -> EvalRunner.run(new Stubs.ByTokenScorer(id -> 0),
                Optional.empty(), OptionalInt.empty(), 64, TaskFiles.readAll(List.of(txt)), EvalOptions.defaults()));
        assertTrue(e.getMessage().startsWith(txt + ": task perplexity needs the model's tokenizer.json"), e.getMessage());
    }

    @Test
    void compareRunsBaseLinearizedAndUntrainedOnTheFixtureModel() throws Exception {
        Path mqar = dir.resolve("mqar.jsonl");
        Files.writeString(mqar, "{\"task\": \"mqar\", \"lengths\": [17, 33], \"trials\": 2}\n");
        Path passkey = dir.resolve("passkey.jsonl");
        Files.writeString(passkey, "{\"task\": \"passkey\", \"lengths\": [40], \"trials\": 2, \"digits\": 3}\n");
        EvalReport report = EvalRunner.compare(ParityFixtures.path("models/llama-f32"), ParityFixtures.path("adapters/llama-f32-sw"),
                List.of(mqar, passkey), true, EvalOptions.defaults());
        assertEquals(List.of("base", "linearized", "untrained"), List.copyOf(report.runs().keySet()));
        // mqar: acc@17, acc@33, acc_mean; passkey: acc@40, acc_mean
        assertEquals(5, report.comparison().size());
        for (EvalReport.Row r : report.comparison()) {
            for (double v : new double[] {r.base(), r.linearized(), r.untrained()}) {
                assertTrue(v >= 0 && v <= 1, r.toString());
            }
        }
        JsonNode json = new ObjectMapper().readTree(report.toJson());
        assertEquals("mqar (ids)", json.get("runs").get("base").get(0).get("task").asText());
        assertTrue(report.toMarkdown().contains("| mqar (ids) | acc@17 ↑ |"), report.toMarkdown());
    }
}
