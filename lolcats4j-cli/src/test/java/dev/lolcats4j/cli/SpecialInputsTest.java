package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inputs that are not regular files or folders, binary task files and over-long documents:
 * exit 2 with exactly one stderr line, nothing written, inputs untouched (never a hang: each
 * run has a deadline), and a 300k-character paragraph trains.
 */
class SpecialInputsTest {

    @TempDir
    Path tmp;
    Path fifo;
    Path inputs;

    @BeforeEach
    void setUp() throws Exception {
        inputs = Files.createDirectories(tmp.resolve("inputs"));
        fifo = inputs.resolve("pipe");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertEquals(0, p.waitFor());
        Cli.copy(Cli.model(), inputs.resolve("model"));
    }

    /** Runs the command with a deadline; bad input, one stderr line, no --out, inputs unchanged. */
    private String refused(String... args) {
        List<String> before = Cli.listing(inputs);
        Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> Cli.run(args), () -> String.join(" ", args) + " hung");
        String error = r.assertOnlyBadInput();
        assertEquals(before, Cli.listing(inputs), "inputs changed");
        assertTrue(Files.notExists(tmp.resolve("out")), "--out was created");
        return error;
    }

    @Test
    void specialFilesAreRefusedWhereverFilesAreRead() {
        String model = inputs.resolve("model").toString();
        String out = tmp.resolve("out").toString();
        for (String special : List.of(fifo.toString(), "/dev/zero")) {
            String kind = special.equals("/dev/zero") ? "a character device" : "a FIFO (named pipe)";
            assertTrue(refused("pretrain", "--data", special, "--out", out, "--steps", "1").contains(special + ": expected a regular file or folder, found " + kind));
            assertTrue(refused("linearize", "--model", model, "--data", special, "--out", out).contains("--data " + special));
            assertTrue(refused("eval", "--model", model, "--task", special).contains(special + ": expected a regular file or folder"));
            assertTrue(refused("score", "--model", model, "--file", special).contains("--file " + special));
            assertTrue(refused("score", "--model", special, "--token-ids", "1,2").contains("--model " + special));
            assertTrue(refused("score", "--model", model, "--adapter", special, "--token-ids", "1,2").contains("--adapter " + special));
            assertTrue(refused("import-reference", "--distill", special, "--out", out).contains("--distill " + special));
        }
    }

    @Test
    void specialFilesInsideModelFoldersAreRefused() throws Exception {
        // The model's tokenizer.json is a FIFO: refused by name (reading it would block).
        Path model = inputs.resolve("model");
        Files.deleteIfExists(model.resolve("tokenizer.json"));
        Process p = new ProcessBuilder("mkfifo", model.resolve("tokenizer.json").toString()).start();
        assertEquals(0, p.waitFor());
        String error = refused("score", "--model", model.toString(), "--text", "hello");
        assertTrue(error.contains("tokenizer.json: expected a regular file or folder, found a FIFO"), error);
    }

    @Test
    void binaryTaskFilesFailFastNamingTheLine() throws IOException {
        byte[] noise = new byte[1 << 20];
        new Random(1).nextBytes(noise);
        noise[0] = (byte) 0xC3; // a lead byte followed by a non-continuation byte: invalid on line 1
        noise[1] = 'A';
        Path binary = inputs.resolve("noise.jsonl");
        Files.write(binary, noise);
        String model = inputs.resolve("model").toString();
        assertEquals("error: " + binary + ":1: not valid UTF-8 text", refused("eval", "--model", model, "--task", binary.toString()));
        Path text = inputs.resolve("noise.txt");
        Files.write(text, noise);
        assertEquals("error: " + text + ":1: not valid UTF-8 text", refused("eval", "--model", model, "--task", text.toString()));
        // Two good lines, then the bytes: named at line 3.
        Path late = inputs.resolve("late.jsonl");
        byte[] head = "{\"text\": \"a\"}\n{\"text\": \"b\"}\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] all = new byte[head.length + noise.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(noise, 0, all, head.length, noise.length);
        Files.write(late, all);
        assertEquals("error: " + late + ":3: not valid UTF-8 text", refused("eval", "--model", model, "--task", late.toString()));
    }

    @Test
    void aParagraphOfThreeHundredThousandCharactersTrains() throws IOException {
        StringBuilder text = new StringBuilder();
        for (int i = 0; text.length() < 300_000; i++) {
            text.append("the whale ").append(i % 10).append(i % 3 == 0 ? "," : "").append(' ');
        }
        Path data = inputs.resolve("one-paragraph.txt");
        Files.writeString(data, text.toString());
        Path out = tmp.resolve("teacher");
        Cli.Result r = Cli.run("pretrain", "--data", data.toString(), "--out", out.toString(), "--seq-len", "64", "--steps", "2",
                "--hidden", "32", "--layers", "1", "--heads", "2", "--kv-heads", "1", "--intermediate", "64",
                "--batch", "2", "--micro-batch", "2");
        r.assertOk();
        // Byte-level: 300k characters are about 300k tokens, so about 4.7k sequences of 64.
        assertTrue(r.err().contains("data: ") && r.err().matches("(?s).*data: \\d{3,} train.*"), r.err());
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
    }
}
