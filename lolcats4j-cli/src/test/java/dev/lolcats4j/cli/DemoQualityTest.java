package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quality floor of lolcats-method section 9 on the bundled teacher (a real model pretrained
 * by {@code lolcats pretrain}): stage 1 alone, with under 1M training tokens, closes at least 95%
 * of the held-out perplexity gap between the untrained swap and the teacher; after stage 2 the
 * perplexity is within 2% of the teacher's. Several minutes on 2 cores: {@code mvn test -Pslow}.
 */
@Tag("slow")
class DemoQualityTest {

    private static final Path DEMO = Path.of("..", "demo");

    @Test
    void stageOneClosesTheGapAndStageTwoMatchesTheTeacher(@TempDir Path tmp) {
        Path teacher = DEMO.resolve("teacher");
        Path stage1 = tmp.resolve("stage1");
        Path stage2 = tmp.resolve("stage2");
        // 150 steps x 8 sequences x 512 tokens = 614k stage-1 tokens.
        Cli.run("linearize", "--model", teacher.toString(), "--data", DEMO.resolve("corpus/train.txt").toString(),
                "--out", stage1.toString(), "--stage", "transfer", "--seq-len", "512", "--feature-dim", "32",
                "--window", "64", "--transfer-steps", "150", "--micro-batch", "8", "--eval-every", "50").assertOk();
        JsonNode afterStage1 = compare(teacher, stage1);
        double gapClosed = metric(afterStage1, "gap_closed");
        assertTrue(gapClosed >= 0.95, "stage 1 closed " + gapClosed + " of the perplexity gap");

        Cli.run("linearize", "--model", teacher.toString(), "--adapter", stage1.toString(), "--data",
                DEMO.resolve("corpus/train.txt").toString(), "--out", stage2.toString(), "--stage", "lora", "--seq-len", "512",
                "--lora-steps", "60", "--lora-lr", "1e-3", "--micro-batch", "8", "--eval-every", "30").assertOk();
        JsonNode afterStage2 = compare(teacher, stage2);
        double ratio = metric(afterStage2, "linearized") / metric(afterStage2, "base");
        assertTrue(ratio <= 1.02, "held-out perplexity ratio to the teacher after stage 2: " + ratio);
    }

    private static JsonNode compare(Path teacher, Path adapter) {
        Cli.Result r = Cli.run("eval", "--model", teacher.toString(), "--adapter", adapter.toString(), "--task",
                DEMO.resolve("corpus/heldout.txt").toString(), "--compare", "--untrained", "--context", "512", "--json");
        r.assertOk();
        return r.json();
    }

    /** The token-perplexity row of the comparison. */
    private static double metric(JsonNode report, String field) {
        for (JsonNode row : report.get("comparison")) {
            if (row.get("metric").asText().equals("token_perplexity")) {
                return row.get(field).asDouble();
            }
        }
        throw new AssertionError("no token_perplexity row in " + report);
    }
}
