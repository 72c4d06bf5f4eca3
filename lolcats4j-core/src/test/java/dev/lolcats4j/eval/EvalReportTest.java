package dev.lolcats4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EvalReportTest {

    static TaskResult result(String task, String metric, double value) {
        return new TaskResult(task, "x", Path.of(task), Map.of(metric, value), Map.of());
    }

    static EvalReport report(boolean withUntrained) {
        Map<String, List<TaskResult>> runs = new LinkedHashMap<>();
        runs.put("base", List.of(result("wiki", "token_perplexity", 10), result("piqa", "acc", 0.8)));
        runs.put("linearized", List.of(result("wiki", "token_perplexity", 12), result("piqa", "acc", 0.7)));
        if (withUntrained) {
            runs.put("untrained", List.of(result("wiki", "token_perplexity", 20), result("piqa", "acc", 0.3)));
        }
        return new EvalReport(Path.of("m"), Path.of("a"), runs);
    }

    @Test
    void gapClosedIsTheShareOfTheUntrainedGapRecovered() throws Exception {
        EvalReport r = report(true);
        // perplexity: (20 - 12) / (20 - 10) = 0.8; accuracy: (0.3 - 0.7) / (0.3 - 0.8) = 0.8
        assertEquals(0.8, r.comparison().get(0).gapClosed(), 1e-12);
        assertEquals(0.8, r.comparison().get(1).gapClosed(), 1e-12);
        String md = r.toMarkdown();
        assertTrue(md.contains("| wiki | token_perplexity ↓ | 10.0000 | 12.0000 | 20.0000 | 80.0% |"), md);
        assertTrue(md.contains("| piqa | acc ↑ | 0.8000 | 0.7000 | 0.3000 | 80.0% |"), md);
        JsonNode json = new ObjectMapper().readTree(r.toJson());
        assertEquals(0.8, json.get("comparison").get(0).get("gap_closed").asDouble(), 1e-12);
        assertEquals(12.0, json.get("runs").get("linearized").get(0).get("metrics").get("token_perplexity").asDouble());
        assertEquals(0.5, EvalReport.gapClosed(10, 15, 20), 1e-12);
    }

    @Test
    void withoutAnUntrainedRunThereIsNoGapColumn() throws Exception {
        String md = report(false).toMarkdown();
        assertTrue(md.startsWith("| task | metric | base | linearized |\n"), md);
        assertTrue(md.contains("| wiki | token_perplexity ↓ | 10.0000 | 12.0000 |\n"), md);
        assertTrue(new ObjectMapper().readTree(report(false).toJson()).get("comparison").get(0).get("gap_closed").isNull());
    }
}
