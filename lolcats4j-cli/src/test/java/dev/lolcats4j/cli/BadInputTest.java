package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way the user can get it wrong: exit 2, nothing on stdout, one line naming the problem. */
class BadInputTest {

    @TempDir
    Path tmp;

    private static String model() {
        return Cli.model().toString();
    }

    private static void assertMentions(String error, String... parts) {
        for (String p : parts) {
            assertTrue(error.contains(p), () -> "\"" + p + "\" not in: " + error);
        }
    }

    /** Runs a command on a folder and checks it failed with bad input and left the folder as it was. */
    private String badInputLeavingFolderUnchanged(Path folder, String... args) {
        List<String> before = Cli.listing(folder);
        String error = Cli.run(args).assertBadInput();
        assertEquals(before, Cli.listing(folder), "files left behind in " + folder);
        return error;
    }

    @Test
    void tokenIdBeyondTheVocabularyNamesTheFlag() {
        assertMentions(Cli.run("score", "--model", model(), "--token-ids", "1,2,256").assertOnlyBadInput(),
                "--token-ids", "256", "vocab_size (256)");
        assertMentions(Cli.run("generate", "--model", model(), "--token-ids", "999", "--max-new-tokens", "2").assertOnlyBadInput(),
                "--token-ids", "999");
    }

    @Test
    void malformedTokenIds() {
        assertMentions(Cli.run("score", "--model", model(), "--token-ids", "1,two,3").assertBadInput(), "--token-ids", "\"two\"");
        assertMentions(Cli.run("score", "--model", model(), "--token-ids", "1,-2").assertBadInput(), "--token-ids", "-2");
        assertMentions(Cli.run("score", "--model", model(), "--token-ids", " ").assertBadInput(), "--token-ids");
        assertMentions(Cli.run("score", "--model", model(), "--token-ids", "7").assertBadInput(), "--token-ids", "at least 2");
    }

    @Test
    void missingFolders() {
        Path nowhere = tmp.resolve("nowhere");
        assertMentions(Cli.run("score", "--model", nowhere.toString(), "--token-ids", "1,2").assertBadInput(),
                "--model", "nowhere", "not found");
        assertMentions(Cli.run("score", "--model", model(), "--adapter", nowhere.toString(), "--token-ids", "1,2").assertBadInput(),
                "--adapter", "nowhere", "not found");
    }

    @Test
    void folderWithoutWeights() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("empty-model"));
        Files.copy(Cli.model().resolve("config.json"), dir.resolve("config.json"));
        assertMentions(badInputLeavingFolderUnchanged(dir, "score", "--model", dir.toString(), "--token-ids", "1,2"),
                "empty-model", "safetensors");
    }

    @Test
    void truncatedSafetensors() throws IOException {
        Path dir = Cli.copy(Cli.model(), tmp.resolve("truncated"));
        Path weights = dir.resolve("model.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        assertMentions(badInputLeavingFolderUnchanged(dir, "score", "--model", dir.toString(), "--token-ids", "1,2"),
                "model.safetensors");
    }

    @Test
    void configMissingHiddenSize() throws IOException {
        Path dir = Cli.copy(Cli.model(), tmp.resolve("no-hidden"));
        editJson(dir.resolve("config.json"), c -> c.remove("hidden_size"));
        assertMentions(badInputLeavingFolderUnchanged(dir, "score", "--model", dir.toString(), "--token-ids", "1,2"),
                "config.json", "hidden_size");
    }

    @Test
    void weightsWhoseShapesDisagreeWithTheConfig() throws IOException {
        Path dir = Cli.copy(Cli.model(), tmp.resolve("wrong-shape"));
        editJson(dir.resolve("config.json"), c -> c.put("intermediate_size", 96));
        assertMentions(badInputLeavingFolderUnchanged(dir, "generate", "--model", dir.toString(), "--token-ids", "1,2",
                "--max-new-tokens", "3"), "model.safetensors", "expected shape");
    }

    @Test
    void unknownAdapterAttentionKind() throws IOException {
        Path dir = Cli.copy(Cli.adapter(), tmp.resolve("bogus-adapter"));
        editJson(dir.resolve("lolcats_config.json"), c -> c.put("attention", "bogus"));
        assertMentions(badInputLeavingFolderUnchanged(dir, "score", "--model", model(), "--adapter", dir.toString(),
                "--token-ids", "1,2"), "lolcats_config.json", "attention", "bogus");
    }

    @Test
    void textNeedsATokenizer() {
        String error = Cli.run("score", "--model", model(), "--text", "hello").assertBadInput();
        assertEquals("error: " + Cli.model() + ": tokenizer.json: not found; use --token-ids", error);
        error = Cli.run("generate", "--model", model(), "--prompt", "hello", "--max-new-tokens", "2").assertBadInput();
        assertEquals("error: " + Cli.model() + ": tokenizer.json: not found; use --token-ids", error);
    }

    @Test
    void samplingOptions() {
        String[] base = {"generate", "--model", model(), "--token-ids", "1,2"};
        assertMentions(run(base, "--max-new-tokens", "0").assertBadInput(), "--max-new-tokens");
        assertMentions(run(base, "--max-new-tokens", "2", "--temperature", "-0.5").assertBadInput(), "--temperature");
        assertMentions(run(base, "--max-new-tokens", "2", "--top-p", "0").assertBadInput(), "--top-p");
        assertMentions(run(base, "--max-new-tokens", "2", "--top-p", "1.5").assertBadInput(), "--top-p");
        assertMentions(run(base, "--max-new-tokens", "many").assertBadInput(), "--max-new-tokens");
        assertMentions(run(base).assertBadInput(), "--max-new-tokens");
        assertMentions(run(base, "--max-new-tokens", "2", "--dtype", "f16").assertBadInput(), "--dtype", "f16");
    }

    @Test
    void exactlyOneInput() {
        assertMentions(Cli.run("score", "--model", model()).assertBadInput(), "--text", "--file", "--token-ids");
        assertMentions(Cli.run("score", "--model", model(), "--text", "a", "--token-ids", "1,2").assertBadInput(),
                "mutually exclusive");
        assertMentions(Cli.run("generate", "--model", model(), "--prompt", "a", "--token-ids", "1,2", "--max-new-tokens", "1")
                .assertBadInput(), "mutually exclusive");
    }

    @Test
    void unknownCommandOrOption() {
        assertMentions(Cli.run("frobnicate").assertBadInput(), "frobnicate");
        assertMentions(Cli.run("score", "--model", model(), "--token-ids", "1,2", "--bogus").assertBadInput(), "--bogus");
    }

    @Test
    void helpAndVersion() {
        for (String command : new String[] {"score", "generate"}) {
            Cli.Result r = Cli.run(command, "--help");
            r.assertOk();
            assertTrue(r.out().contains("--model=DIR") && r.out().contains("--json"), r.out());
        }
        Cli.Result top = Cli.run("--help");
        top.assertOk();
        assertTrue(top.out().contains("score") && top.out().contains("generate"), top.out());
        Cli.Result version = Cli.run("--version");
        version.assertOk();
        assertTrue(version.out().startsWith("lolcats4j "), version.out());
        assertEquals(2, Cli.run().exitCode(), "no command: usage, exit 2");
    }

    private static Cli.Result run(String[] base, String... extra) {
        String[] args = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return Cli.run(args);
    }

    private static void editJson(Path file, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        ObjectNode node = (ObjectNode) Cli.JSON.readTree(file.toFile());
        edit.accept(node);
        Cli.JSON.writeValueAsString(node);
        Files.writeString(file, Cli.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node));
    }
}
