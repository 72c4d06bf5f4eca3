package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lolcats4j.tokenizer.ByteLevelTokenizerFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lolcats eval} on the llama-f32 fixture with a byte-level tokenizer (ids 0..255 are the
 * UTF-8 bytes, no BOS), so every expected value can be worked out from {@code score --json}.
 */
class EvalCommandTest {

    private static final String TEXT = "The cat sat on the mat. It was a good mat.";

    @TempDir
    Path tmp;

    /**
     * llama-f32 (vocab 256) plus a byte-level tokenizer.json cut to the 256 byte tokens: its
     * special tokens (ids 256 to 258) have no embedding row in this model, and a tokenizer with
     * ids beyond vocab_size is refused. No BOS is added.
     */
    private Path tokenizedModel() throws IOException {
        Path dir = Cli.copy(Cli.model(), tmp.resolve("llama-bytes"));
        ByteLevelTokenizerFiles.write(dir);
        com.fasterxml.jackson.databind.node.ObjectNode tokenizer =
                (com.fasterxml.jackson.databind.node.ObjectNode) Cli.JSON.readTree(dir.resolve("tokenizer.json").toFile());
        tokenizer.putArray("added_tokens");
        com.fasterxml.jackson.databind.node.ObjectNode vocab = (com.fasterxml.jackson.databind.node.ObjectNode) tokenizer.get("model").get("vocab");
        vocab.remove(java.util.List.of("<s>", "</s>", "<pad>"));
        Files.writeString(dir.resolve("tokenizer.json"), Cli.JSON.writeValueAsString(tokenizer));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"add_bos_token\": false, \"add_eos_token\": false}\n");
        return dir;
    }

    private Path write(String name, String... lines) throws IOException {
        return Files.writeString(tmp.resolve(name), String.join("\n", lines) + "\n");
    }

    private static JsonNode score(Path model, String adapter, String text) {
        Cli.Result r = adapter == null
                ? Cli.run("score", "--model", model.toString(), "--text", text, "--json", "--dtype", "f32")
                : Cli.run("score", "--model", model.toString(), "--adapter", adapter, "--text", text, "--json", "--dtype", "f32");
        r.assertOk();
        return r.json();
    }

    private static double[] bytes(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        double[] ids = new double[b.length];
        for (int i = 0; i < b.length; i++) {
            ids[i] = b[i] & 0xff;
        }
        return ids;
    }

    @Test
    void perplexityEqualsScoresMeanNll() throws IOException {
        Path model = tokenizedModel();
        JsonNode scored = score(model, null, TEXT);
        assertArrayEquals(bytes(TEXT), Cli.doubles(scored.get("token_ids")), "byte-level ids, no BOS");
        Path task = write("held-out.jsonl", "{\"task\": \"perplexity\", \"name\": \"heldout\"}", "{\"text\": \"" + TEXT + "\"}");

        Cli.Result r = Cli.run("eval", "--model", model.toString(), "--task", task.toString(), "--json", "--dtype", "f32");
        r.assertOk();
        JsonNode result = r.json().get("runs").get("model").get(0);
        assertEquals("heldout", result.get("task").asText());
        double expectedPpl = Math.exp(scored.get("mean_nll").asDouble());
        assertEquals(expectedPpl, result.get("metrics").get("token_perplexity").asDouble(), 1e-5 * expectedPpl);
        int bytes = TEXT.length();
        double totalNll = scored.get("mean_nll").asDouble() * (bytes - 1);
        assertEquals(totalNll / (bytes * Math.log(2)), result.get("metrics").get("bits_per_byte").asDouble(), 1e-5);
        assertEquals(bytes - 1, result.get("counts").get("tokens").asLong());
        assertTrue(r.err().lines().anyMatch(l -> l.startsWith("eval: heldout (perplexity)")), r.err());
    }

    @Test
    void multipleChoiceAccuracyFollowsTheScoredLogLikelihoods() throws IOException {
        Path model = tokenizedModel();
        String[][] items = {
            {"The cat sat on the", " mat.", " zq#"},
            {"It was a good", " Xj}", " day."},
            {"One, two,", " three", " ~~~~~"},
        };
        StringBuilder jsonl = new StringBuilder();
        int correct = 0;
        for (String[] item : items) {
            double[] ll = new double[2];
            for (int c = 0; c < 2; c++) {
                // the choice's log-likelihood: its tokens' logprobs given the context (one token per byte)
                double[] logprobs = Cli.doubles(score(model, null, item[0] + item[c + 1]).get("logprobs"));
                for (int t = logprobs.length - item[c + 1].length(); t < logprobs.length; t++) {
                    ll[c] += logprobs[t];
                }
            }
            int gold = 0;
            correct += ll[0] >= ll[1] ? 1 : 0;
            jsonl.append(String.format("{\"context\": \"%s\", \"choices\": [\"%s\", \"%s\"], \"gold\": %d}%n",
                    item[0], item[1], item[2], gold));
        }
        Path task = Files.writeString(tmp.resolve("mc.jsonl"), jsonl);
        Cli.Result r = Cli.run("eval", "--model", model.toString(), "--task", task.toString(), "--json", "--dtype", "f32");
        r.assertOk();
        JsonNode result = r.json().get("runs").get("model").get(0);
        assertEquals("multiple_choice", result.get("kind").asText());
        assertEquals(3, result.get("counts").get("items").asInt());
        assertEquals(correct / 3.0, result.get("metrics").get("acc").asDouble(), 1e-12);
    }

    @Test
    void compareShowsBaseAndLinearizedColumns() throws IOException {
        Path model = tokenizedModel();
        Path task = write("ppl.jsonl", "{\"text\": \"" + TEXT + "\"}");
        Cli.Result r = Cli.run("eval", "--model", model.toString(), "--adapter", Cli.adapter().toString(),
                "--task", task.toString(), "--compare", "--dtype", "f32");
        r.assertOk();
        List<String> lines = r.out().lines().toList();
        assertEquals("| task | metric | base | linearized |", lines.get(0), r.out());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("| ppl | token_perplexity")), r.out());
        assertTrue(r.err().contains("eval: base: "), r.err());
        assertTrue(r.err().contains("eval: linearized: "), r.err());

        r = Cli.run("eval", "--model", model.toString(), "--adapter", Cli.adapter().toString(),
                "--task", task.toString(), "--compare", "--json", "--dtype", "f32");
        r.assertOk();
        JsonNode row = r.json().get("comparison").get(0);
        assertEquals("token_perplexity", row.get("metric").asText());
        double base = Math.exp(score(model, null, TEXT).get("mean_nll").asDouble());
        double linearized = Math.exp(score(model, Cli.adapter().toString(), TEXT).get("mean_nll").asDouble());
        assertEquals(base, row.get("base").asDouble(), 1e-5 * base);
        assertEquals(linearized, row.get("linearized").asDouble(), 1e-5 * linearized);
        assertTrue(row.get("untrained").isNull());
    }

    @Test
    void malformedTaskLineNamesFileAndLine() throws IOException {
        Path task = write("broken.jsonl", "{\"text\": \"fine\"}", "{\"text\": oops}");
        String error = Cli.run("eval", "--model", Cli.model().toString(), "--task", task.toString()).assertBadInput();
        assertTrue(error.contains(task + ":2: malformed JSON"), error);
    }

    @Test
    void compareWithoutAnAdapterIsBadInput() throws IOException {
        Path task = write("ppl.jsonl", "{\"text\": \"" + TEXT + "\"}");
        String error = Cli.run("eval", "--model", Cli.model().toString(), "--task", task.toString(), "--compare").assertBadInput();
        assertTrue(error.contains("--compare") && error.contains("--adapter"), error);
        error = Cli.run("eval", "--model", Cli.model().toString(), "--task", task.toString(), "--untrained").assertBadInput();
        assertTrue(error.contains("--untrained"), error);
        error = Cli.run("eval", "--model", Cli.model().toString(), "--task", tmp.resolve("missing.jsonl").toString()).assertBadInput();
        assertTrue(error.contains("missing.jsonl"), error);
    }

    @Test
    void taskNeedingATokenizerSaysSo() throws IOException {
        Path task = write("ppl.jsonl", "{\"text\": \"" + TEXT + "\"}");
        String error = Cli.run("eval", "--model", Cli.model().toString(), "--task", task.toString()).assertOnlyBadInput();
        assertTrue(error.contains("tokenizer.json"), error);
        assertFalse(error.contains("Exception"), error);
    }
}
