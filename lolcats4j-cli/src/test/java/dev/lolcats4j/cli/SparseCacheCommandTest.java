package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/**
 * {@code --sparse-cache C} on score, generate and eval: a cache that holds every pair turns the
 * LoLCATs adapter (no LoRA) back into the softmax teacher, whose log-probabilities come from the
 * independent float64 reference; bad values and adapters that cannot take a cache are refused
 * before any model is loaded.
 */
class SparseCacheCommandTest {

    private static String adapterWithoutLora() {
        return Cli.parity().resolve("adapters/llama-f32-sw").toString();
    }

    @Test
    void aFullCacheScoresLikeTheTeacher() {
        JsonNode teacher = Cli.testCase("llama-f32/softmax");
        Cli.Result r = Cli.run("score", "--model", Cli.model().toString(), "--adapter", adapterWithoutLora(),
                "--sparse-cache", "64", "--token-ids", Cli.idList(teacher.get("token_ids")), "--json");
        r.assertOk();
        double[] expected = Cli.doubles(teacher.get("logprobs"));
        double[] actual = Cli.doubles(r.json().get("logprobs"));
        for (int t = 0; t < expected.length; t++) {
            assertEquals(expected[t], actual[t], Cli.tolerance(), "position " + t);
        }
    }

    @Test
    void generateTakesTheCache() {
        Cli.Result r = Cli.run("generate", "--model", Cli.model().toString(), "--adapter", adapterWithoutLora(),
                "--sparse-cache", "2", "--token-ids", "19,134,254,194,7,8,9,10,11,12,13,14", "--max-new-tokens", "6", "--json");
        r.assertOk();
        assertEquals(6, r.json().get("token_ids").size());
    }

    @Test
    void badValuesAndAdaptersAreRefusedUpFront() {
        String model = Cli.model().toString();
        String message = Cli.run("score", "--model", model, "--adapter", adapterWithoutLora(), "--sparse-cache", "-1",
                "--token-ids", "1,2,3").assertOnlyBadInput();
        assertTrue(message.contains("--sparse-cache"), message);
        message = Cli.run("score", "--model", model, "--sparse-cache", "4", "--token-ids", "1,2,3").assertOnlyBadInput();
        assertTrue(message.contains("needs a LoLCATs adapter"), message);
        message = Cli.run("generate", "--model", model, "--adapter", Cli.parity().resolve("adapters/llama-f32-linear").toString(),
                "--sparse-cache", "4", "--token-ids", "1,2,3", "--max-new-tokens", "2").assertOnlyBadInput();
        assertTrue(message.contains("hybrid_sw"), message);
    }
}
