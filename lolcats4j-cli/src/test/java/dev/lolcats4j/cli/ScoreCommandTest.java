package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScoreCommandTest {

    private static void assertMatchesCase(Cli.Result r, JsonNode c) {
        r.assertOk();
        JsonNode json = r.json();
        assertArrayEquals(Cli.ints(c.get("token_ids")), Cli.ints(json.get("token_ids")));
        double[] expected = Cli.doubles(c.get("logprobs"));
        double[] actual = Cli.doubles(json.get("logprobs"));
        assertEquals(expected.length, actual.length);
        double sum = 0;
        for (int t = 0; t < expected.length; t++) {
            assertEquals(expected[t], actual[t], Cli.tolerance(), "position " + t);
            sum -= actual[t];
        }
        assertEquals(sum / actual.length, json.get("mean_nll").asDouble(), 1e-9);
        assertEquals(Math.exp(json.get("mean_nll").asDouble()), json.get("perplexity").asDouble(), 1e-6);
    }

    @Test
    void softmaxLogprobsMatchTheReference() {
        JsonNode c = Cli.testCase("llama-f32/softmax");
        assertMatchesCase(Cli.run("score", "--model", Cli.model().toString(),
                "--token-ids", Cli.idList(c.get("token_ids")), "--json", "--dtype", "f32"), c);
    }

    @Test
    void adapterLogprobsMatchTheReference() {
        JsonNode c = Cli.testCase("llama-f32/sw-lora");
        assertMatchesCase(Cli.run("score", "--model", Cli.model().toString(), "--adapter", Cli.adapter().toString(),
                "--token-ids", Cli.idList(c.get("token_ids")), "--json", "--dtype", "f32"), c);
    }

    @Test
    void mergedFolderAppliesItsAdapterWithoutTheFlag(@TempDir Path tmp) {
        Path merged = Cli.copy(Cli.model(), tmp.resolve("merged"));
        Cli.copy(Cli.adapter(), merged);
        JsonNode c = Cli.testCase("llama-f32/sw-lora");
        Cli.Result r = Cli.run("score", "--model", merged.toString(), "--token-ids", Cli.idList(c.get("token_ids")), "--json",
                "--dtype", "f32");
        assertMatchesCase(r, c);
        assertTrue(r.err().contains("found in the model folder"), r.err());
    }

    @Test
    void humanSummaryGoesToStdoutAndStatusToStderr() {
        Cli.Result r = Cli.run("score", "--model", Cli.model().toString(), "--token-ids", "1,2,3,4");
        r.assertOk();
        assertTrue(r.out().contains("tokens      4 (3 scored)"), r.out());
        assertTrue(r.out().contains("mean NLL"), r.out());
        assertTrue(r.out().contains("perplexity"), r.out());
        assertTrue(r.err().startsWith("loaded "), r.err());
    }

    @Test
    void fileInputIsReadThenNeedsATokenizer(@TempDir Path tmp) throws Exception {
        Path text = Files.writeString(tmp.resolve("t.txt"), "hello");
        String error = Cli.run("score", "--model", Cli.model().toString(), "--file", text.toString()).assertBadInput();
        assertTrue(error.endsWith("tokenizer.json: not found; use --token-ids"), error);
        error = Cli.run("score", "--model", Cli.model().toString(), "--file", tmp.resolve("nope.txt").toString()).assertBadInput();
        assertTrue(error.contains("--file") && error.contains("nope.txt"), error);
    }
}
