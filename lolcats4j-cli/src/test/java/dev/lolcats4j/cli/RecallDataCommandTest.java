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

/** lolcats data recall: exact-length documents, reproducible from the seed, and its input errors. */
class RecallDataCommandTest {

    @Test
    void writesSeededDocumentsThatFillPackedSequencesExactly(@TempDir Path tmp) throws IOException {
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, "It was the best of times, it was the worst of times. ".repeat(200));
        Path a = tmp.resolve("a.jsonl");
        Path b = tmp.resolve("b.jsonl");
        Cli.Result r = Cli.run("data", "recall", "--corpus", corpus.toString(), "--out", a.toString(), "--documents", "40",
                "--doc-tokens", "512", "--max-distance", "400", "--seed", "3");
        r.assertOk();
        assertTrue(r.out().startsWith("wrote 40 documents of 510 characters"), r.out());
        Cli.run("data", "recall", "--corpus", corpus.toString(), "--out", b.toString(), "--documents", "40",
                "--doc-tokens", "512", "--max-distance", "400", "--seed", "3").assertOk();
        assertEquals(Files.readString(a), Files.readString(b), "same seed, same file");
        List<String> lines = Files.readAllLines(a);
        assertEquals(40, lines.size());
        boolean sawRecall = false;
        for (String line : lines) {
            JsonNode node = Cli.JSON.readTree(line);
            String text = node.get("text").asText();
            assertEquals(510, text.length());
            sawRecall |= text.contains(" The pass key is ") || text.matches(".* [a-z]{3}=\\d{3}.*");
        }
        assertTrue(sawRecall);

        // an existing output is kept unless --force
        String error = Cli.run("data", "recall", "--corpus", corpus.toString(), "--out", a.toString(), "--seed", "4").assertBadInput();
        assertTrue(error.contains("--out") && error.contains("--force"), error);
        Cli.run("data", "recall", "--corpus", corpus.toString(), "--out", a.toString(), "--documents", "5", "--seed", "4", "--force")
                .assertOk();
        assertEquals(5, Files.readAllLines(a).size());
    }

    @Test
    void badOptionsAreOneLineErrorsAndWriteNothing(@TempDir Path tmp) throws IOException {
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, "Some filler text for the documents. ".repeat(200));
        Path out = tmp.resolve("out.jsonl");
        String[][] cases = {
            {"--mix", "corpus=1,poems=1"},
            {"--mix", "corpus=0,mqar=0,passkey=0"},
            {"--mix", "corpus=-1,mqar=1"},
            {"--documents", "0"},
            {"--max-distance", "20"},
            {"--doc-tokens", "100"},
        };
        for (String[] c : cases) {
            String[] args = {"data", "recall", "--corpus", corpus.toString(), "--out", out.toString(), c[0], c[1]};
            String error = Cli.run(args).assertBadInput();
            assertTrue(error.contains(c[0]), error);
        }
        Cli.run("data", "recall", "--corpus", tmp.resolve("missing.txt").toString(), "--out", out.toString()).assertBadInput();
        Files.writeString(tmp.resolve("tiny.txt"), "too short");
        Cli.run("data", "recall", "--corpus", tmp.resolve("tiny.txt").toString(), "--out", out.toString()).assertBadInput();
        assertFalse(Files.exists(out));
        String device = Cli.run("data", "recall", "--corpus", corpus.toString(), "--out", "/dev/null", "--force").assertBadInput();
        assertTrue(device.contains("not a regular file"), device);
        Cli.run("data", "recall", "--corpus", corpus.toString(), "--out", tmp.toString(), "--force").assertBadInput();
    }
}
