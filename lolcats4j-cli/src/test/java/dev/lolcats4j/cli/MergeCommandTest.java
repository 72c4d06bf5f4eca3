package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lolcats merge}: a standalone folder that scores like base + adapter (float64 reference). */
class MergeCommandTest {

    @TempDir
    Path tmp;

    static void assertMatchesReference(Cli.Result r, JsonNode c) {
        r.assertOk();
        double[] expected = Cli.doubles(c.get("logprobs"));
        double[] actual = Cli.doubles(r.json().get("logprobs"));
        assertEquals(expected.length, actual.length);
        for (int t = 0; t < expected.length; t++) {
            assertEquals(expected[t], actual[t], Cli.tolerance(), "position " + t);
        }
    }

    private Cli.Result merge(Path out, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("merge", "--model", Cli.model().toString(),
                "--adapter", Cli.adapter().toString(), "--out", out.toString()));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    @Test
    void mergedFolderScoresLikeTheReference() {
        Path out = tmp.resolve("merged");
        Cli.Result m = merge(out);
        m.assertOk();
        assertEquals("", m.out());
        assertEquals(List.of("", "adapter.safetensors", "config.json", "lolcats_config.json", "model.safetensors"), Cli.listing(out));
        assertEquals(List.of("", "merged"), Cli.listing(tmp).stream().filter(p -> !p.contains("/")).toList(), "no temp folder left");

        JsonNode c = Cli.testCase("llama-f32/sw-lora");
        Cli.Result r = Cli.run("score", "--model", out.toString(), "--token-ids", Cli.idList(c.get("token_ids")), "--json",
                "--dtype", "f32");
        assertMatchesReference(r, c);
        assertTrue(r.err().contains("found in the model folder"), r.err());
        assertFalse(r.err().contains("LoRA"), "LoRA is folded in, not applied again: " + r.err());
    }

    @Test
    void nonEmptyOutNeedsForce() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("taken"));
        Files.writeString(out.resolve("keep.txt"), "mine");
        String error = merge(out).assertBadInput();
        assertTrue(error.contains("--out") && error.contains("--force"), error);
        assertEquals(List.of("", "keep.txt"), Cli.listing(out));

        merge(out, "--force").assertOk();
        assertFalse(Files.exists(out.resolve("keep.txt")));
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
        assertEquals(List.of("", "taken"), Cli.listing(tmp).stream().filter(p -> !p.contains("/")).toList());
    }

    @Test
    void emptyOutFolderIsFine() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("empty"));
        merge(out).assertOk();
        assertTrue(Files.isRegularFile(out.resolve("adapter.safetensors")));
    }

    @Test
    void badArguments() {
        String error = merge(tmp.resolve("x"), "--store-dtype", "f8").assertBadInput();
        assertTrue(error.contains("--store-dtype"), error);
        error = Cli.run("merge", "--model", Cli.model().toString(), "--adapter", tmp.resolve("none").toString(),
                "--out", tmp.resolve("x").toString()).assertBadInput();
        assertTrue(error.contains("--adapter"), error);
        error = Cli.run("merge", "--model", Cli.model().toString(), "--adapter", Cli.adapter().toString(),
                "--out", Cli.model().toString(), "--force").assertBadInput();
        assertTrue(error.contains("--out"), error);
        assertFalse(Files.exists(tmp.resolve("x")));
    }
}
