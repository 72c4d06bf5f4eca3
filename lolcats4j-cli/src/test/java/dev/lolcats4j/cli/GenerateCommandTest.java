package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class GenerateCommandTest {

    private static Cli.Result greedy(JsonNode c, String... extra) {
        String[] base = {"generate", "--model", Cli.model().toString(), "--token-ids", Cli.idList(c.get("token_ids")),
            "--max-new-tokens", Integer.toString(c.get("greedy").size()), "--dtype", "f32"};
        String[] args = Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return Cli.run(args);
    }

    @Test
    void greedyTokensMatchTheReference() {
        JsonNode c = Cli.testCase("llama-f32/softmax/greedy");
        Cli.Result r = greedy(c, "--json");
        r.assertOk();
        assertArrayEquals(Cli.ints(c.get("greedy")), Cli.ints(r.json().get("token_ids")));
        assertEquals("", r.json().get("text").asText(), "no tokenizer, no text");
    }

    @Test
    void adapterGreedyTokensMatchTheReference() {
        JsonNode c = Cli.testCase("llama-f32/sw-lora/greedy");
        Cli.Result r = greedy(c, "--adapter", Cli.adapter().toString(), "--json");
        r.assertOk();
        assertArrayEquals(Cli.ints(c.get("greedy")), Cli.ints(r.json().get("token_ids")));
    }

    @Test
    void withoutJsonAndTokenizerStreamsIds() {
        JsonNode c = Cli.testCase("llama-f32/softmax/greedy");
        Cli.Result r = greedy(c);
        r.assertOk();
        String expected = Arrays.stream(Cli.ints(c.get("greedy"))).mapToObj(Integer::toString).collect(Collectors.joining(","));
        assertEquals(expected, r.out().strip());
        assertTrue(r.err().contains("generated 12 tokens"), r.err());
    }

    @Test
    void samplingIsReproducibleWithASeed() {
        String[] args = {"generate", "--model", Cli.model().toString(), "--token-ids", "1,5,9", "--max-new-tokens", "8",
            "--temperature", "1.0", "--top-p", "0.9", "--seed", "7", "--json"};
        Cli.Result a = Cli.run(args);
        Cli.Result b = Cli.run(args);
        a.assertOk();
        assertEquals(a.out(), b.out());
    }
}
