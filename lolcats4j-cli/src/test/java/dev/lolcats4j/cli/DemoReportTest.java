package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lolcats4j.eval.EvalReport;
import dev.lolcats4j.eval.EvalRunner;
import dev.lolcats4j.eval.TaskResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's report folder from known evaluation numbers: every item is there and the numbers are the inputs'. */
class DemoReportTest {

    static TaskResult result(String task, Map<String, Double> metrics) {
        return new TaskResult(task, task, Path.of(task), metrics, Map.of());
    }

    static Map<String, Double> recall(double inside, double beyond) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("acc@d33", inside);
        m.put("acc@d128", beyond);
        m.put("acc@d960", beyond);
        m.put("acc_inside", inside);
        m.put("acc_beyond", beyond);
        return m;
    }

    @Test
    void writesTheTableTheSummaryAndThePlots(@TempDir Path tmp) throws IOException {
        Map<String, List<TaskResult>> text = new LinkedHashMap<>();
        text.put(EvalRunner.BASE, List.of(result("heldout", Map.of("token_perplexity", 4.0)), result("cloze", Map.of("acc_norm", 0.5))));
        text.put(EvalRunner.LINEARIZED, List.of(result("heldout", Map.of("token_perplexity", 4.5)), result("cloze", Map.of("acc_norm", 0.45))));
        text.put(EvalRunner.UNTRAINED, List.of(result("heldout", Map.of("token_perplexity", 14.0)), result("cloze", Map.of("acc_norm", 0.3))));
        text.put(DemoReport.SPARSE, List.of(result("heldout", Map.of("token_perplexity", 4.52))));
        text.put(DemoReport.sparseRun(16), List.of(result("heldout", Map.of("token_perplexity", 4.6))));
        text.put(DemoReport.sparseRun(256), List.of(result("heldout", Map.of("token_perplexity", 4.5))));
        Map<String, List<TaskResult>> rec = new LinkedHashMap<>();
        rec.put(EvalRunner.BASE, List.of(result("passkey", recall(1, 0.95)), result("mqar", recall(1, 0.9))));
        rec.put(EvalRunner.LINEARIZED, List.of(result("passkey", recall(1, 0.2)), result("mqar", recall(0.9, 0.1))));
        rec.put(EvalRunner.UNTRAINED, List.of(result("passkey", recall(0, 0)), result("mqar", recall(0, 0))));
        rec.put(DemoReport.SPARSE, List.of(result("passkey", recall(1, 0.85)), result("mqar", recall(0.9, 0.7))));
        rec.put(DemoReport.sparseRun(16), List.of(result("passkey", recall(1, 0.5)), result("mqar", recall(0.9, 0.3))));
        rec.put(DemoReport.sparseRun(256), List.of(result("passkey", recall(1, 0.95)), result("mqar", recall(0.9, 0.9))));
        DemoReport report = new DemoReport(DemoCommand.RECALL, tmp.resolve("teacher"), tmp.resolve("adapter"),
                new EvalReport(tmp, tmp, text), new EvalReport(tmp, tmp, rec), 60, 20, 12.0);
        report.write(tmp.resolve("report"));

        Path dir = tmp.resolve("report");
        for (String png : List.of("recall_passkey.png", "recall_mqar.png", "decode_ms_per_token.png", "decode_state_bytes.png")) {
            assertEquals(800, ImageIO.read(dir.resolve(png).toFile()).getWidth(), png);
        }
        JsonNode summary = Cli.JSON.readTree(dir.resolve("summary.json").toFile());
        assertEquals(4.0, summary.get("teacher_ppl").asDouble());
        assertEquals(14.0, summary.get("swapped_ppl").asDouble());
        assertEquals(4.5, summary.get("linearized_ppl").asDouble());
        assertEquals((14.0 - 4.5) / (14.0 - 4.0), summary.get("gap_closed").asDouble(), 1e-12);
        assertEquals(0.95, summary.at("/recall/teacher/passkey/960").asDouble());
        assertEquals(0.1, summary.at("/recall/linearized/mqar/128").asDouble());
        assertEquals(0.0, summary.at("/recall/swapped/mqar/33").asDouble());
        assertEquals(0.2, summary.at("/recall_beyond_window/linearized/passkey").asDouble());
        assertEquals(0.9, summary.at("/recall_inside_window/linearized/mqar").asDouble());
        assertEquals(0.7, summary.at("/recall/linearized_sparse/mqar/960").asDouble());
        assertEquals(4.52, summary.get("linearized_sparse_ppl").asDouble());
        assertEquals(64, summary.get("sparse_cache_pairs").asInt());
        // The sweep: C = 16, 64, 256 in order; recovered = (cache - linearized) / (teacher - linearized) beyond W.
        JsonNode sweep = summary.get("sparse_cache_sweep");
        assertEquals(3, sweep.size());
        assertEquals(List.of(16, 64, 256), List.of(sweep.get(0).get("pairs").asInt(), sweep.get(1).get("pairs").asInt(),
                sweep.get(2).get("pairs").asInt()));
        assertEquals((0.5 - 0.2) / (0.95 - 0.2), sweep.get(0).get("passkey_recovered_beyond").asDouble(), 1e-12);
        assertEquals((0.7 - 0.1) / (0.9 - 0.1), sweep.get(1).get("mqar_recovered_beyond").asDouble(), 1e-12);
        assertEquals(1.0, sweep.get(2).get("passkey_recovered_beyond").asDouble(), 1e-12);
        assertEquals(4.6 / 4.5 - 1, sweep.get(0).get("ppl_change").asDouble(), 1e-12);
        assertEquals(0.3, sweep.get(0).at("/mqar/960").asDouble());
        assertEquals(1024, sweep.get(0).get("context").asInt());
        String md = Files.readString(dir.resolve("report.md"));
        assertTrue(md.contains("| 16 | 4.600 (+2.22%) | 50% (40%) | 30% (25%) | - |"), md);
        assertTrue(md.contains("| 256 | 4.500 (+0.00%) | 95% (100%) | 90% (100%) | - |"), md);
        assertTrue(md.contains("| linearized (LoLCATs) | 4.500 | 0.450 | 100% / 20% | 90% / 10% |"), md);
        assertTrue(md.contains("Share of the perplexity gap closed (untrained swap -> teacher): 95.0%"), md);
        assertTrue(md.contains("| linearized + sparse cache C = 64 | 4.520 | - | 100% / 85% | 90% / 70% |"), md);
        assertTrue(md.contains("![passkey](recall_passkey.png)") && md.contains("| 128 | 95% | 20% | 85% | 0% |"), md);
    }

    /**
     * The parts of the report that need real models: samples from the three models and decode
     * timing, on the bundled small teacher with a one-step adapter. Minutes on 2 cores: slow tag.
     */
    @Test
    @Tag("slow")
    void samplesAndDecodeTimingRunOnTheBundledTeacher(@TempDir Path tmp) throws IOException {
        Path demo = Path.of("..", "demo");
        Path teacher = demo.resolve("teacher");
        Path adapter = tmp.resolve("adapter");
        Cli.run("linearize", "--model", teacher.toString(), "--data", demo.resolve("corpus/heldout.txt").toString(), "--out",
                adapter.toString(), "--stage", "transfer", "--seq-len", "128", "--feature-dim", "32", "--window", "64",
                "--transfer-steps", "1", "--micro-batch", "8").assertOk();
        Map<String, List<TaskResult>> none = new LinkedHashMap<>();
        DemoReport report = new DemoReport(DemoCommand.SMALL, teacher, adapter, new EvalReport(tmp, tmp, none),
                new EvalReport(tmp, tmp, none), 1, 0, 1.0);
        report.generateSamples(demo.resolve("corpus/heldout.txt"));
        report.timeDecoding();
        JsonNode decode = report.summary().get("decode");
        assertEquals(DemoReport.DECODE_CONTEXTS.length, decode.size());
        for (int i = 1; i < decode.size(); i++) {
            assertEquals(decode.get(0).get("linearized_state_bytes").asLong(), decode.get(i).get("linearized_state_bytes").asLong(),
                    "the linearized state does not grow");
            assertTrue(decode.get(i).get("teacher_kv_bytes").asLong() > decode.get(i - 1).get("teacher_kv_bytes").asLong());
            assertTrue(decode.get(i).get("teacher_ms_per_token").asDouble() > 0 && decode.get(i).get("linearized_ms_per_token").asDouble() > 0);
        }
        JsonNode samples = report.summary().get("samples");
        for (String model : List.of("teacher", "linearized", "linearized_sparse", "swapped")) {
            assertTrue(samples.get(model).asText().startsWith(DemoReport.PROMPT) && samples.get(model).asText().length() > 40, model);
        }
        assertTrue(report.summary().at("/passkey_sample/expected").asText().matches("\\d{5}"));
        // The small profile sweeps only C = 64: its state after 1024 tokens is the plain state plus a fixed cache.
        JsonNode sweep = report.summary().get("sparse_cache_sweep");
        assertEquals(1, sweep.size());
        long plain = sweep.get(0).get("linearized_state_bytes").asLong();
        assertTrue(plain > 0 && sweep.get(0).get("state_bytes").asLong() > plain, sweep.toString());
        assertTrue(sweep.get(0).get("teacher_kv_bytes").asLong() > 0, sweep.toString());
    }
}
