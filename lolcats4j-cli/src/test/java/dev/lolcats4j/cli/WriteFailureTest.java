package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.WriteFailedException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk or an unwritable output: one line naming --out, exit 2, no partial output and no
 * temporary folder left, the old output (with --force) and the inputs untouched. Faults are
 * injected into the shared mechanism (runs everywhere), and produced for real on a tiny tmpfs
 * when the tests run as root (as on this project's machines).
 */
class WriteFailureTest {

    @TempDir
    Path tmp;

    private static IOException noSpace() {
        return new IOException("No space left on device");
    }

    @Test
    void injectedWriteFailureInPlaceLeavesNothingBehind() {
        Path out = tmp.resolve("out");
        BadInputException e = assertThrows(BadInputException.class, () -> OutputFolder.of("--out", out).resume(false)
                .writeInPlace(dir -> {
                    Files.writeString(dir.resolve("half.txt"), "half of it");
                    throw new WriteFailedException(dir.resolve("model.safetensors"), noSpace());
                }));
        assertEquals("--out " + out + ": No space left on device (writing model.safetensors)", e.getMessage());
        assertEquals(Map.of("", "dir"), Trees.hash(tmp), "no partial output, lock or temporary folder left");
    }

    @Test
    void injectedWriteFailureWithForceKeepsTheOldOutput() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("out"));
        Files.writeString(out.resolve("old.txt"), "the previous result");
        Map<String, String> before = Trees.hash(tmp);
        for (boolean inPlace : new boolean[] {true, false}) {
            OutputFolder folder = OutputFolder.of("--out", out).force(true);
            OutputFolder.Body body = dir -> {
                Files.writeString(dir.resolve("new.txt"), "half of it");
                throw new WriteFailedException(dir.resolve("new.bin"), noSpace());
            };
            BadInputException e = assertThrows(BadInputException.class,
                    () -> { if (inPlace) folder.writeInPlace(body); else folder.writeAtomically(body); });
            assertTrue(e.getMessage().startsWith("--out " + out + ": No space left on device"), e.getMessage());
            assertEquals(before, Trees.hash(tmp), "the old output is back, nothing else left");
        }
    }

    @Test
    void aFullDiskIsOneLineAndLeavesNothing() throws Exception {
        Path full = Files.createDirectories(tmp.resolve("full"));
        assumeTrue(mount(full, "size=96k"), "needs root to mount a tmpfs");
        try {
            Map<String, String> inputs = Trees.hash(Cli.parity());
            Cli.Result r = Cli.run("merge", "--model", Cli.model().toString(), "--adapter", Cli.adapter().toString(),
                    "--out", full.resolve("merged").toString());
            String error = r.assertBadInput();
            assertTrue(error.startsWith("error: --out " + full.resolve("merged") + ": No space left on device"), error);
            assertEquals(Map.of("", "dir"), Trees.hash(full), "nothing left on the full disk");
            assertEquals(inputs, Trees.hash(Cli.parity()));

            Path data = Files.writeString(tmp.resolve("corpus.txt"), "the whale and the sea. ".repeat(200));
            r = Cli.run("pretrain", "--data", data.toString(), "--out", full.resolve("model").toString(), "--seq-len", "32",
                    "--steps", "2", "--hidden", "64", "--layers", "2", "--heads", "2", "--kv-heads", "1", "--intermediate", "128",
                    "--batch", "2", "--micro-batch", "2");
            error = r.assertBadInput();
            assertTrue(error.startsWith("error: --out " + full.resolve("model") + ": No space left on device"), error);
            assertEquals(Map.of("", "dir"), Trees.hash(full), "nothing left on the full disk");
        } finally {
            unmount(full);
        }
    }

    @Test
    void aReadOnlyDestinationIsOneLineUpFront() throws Exception {
        Path readOnly = Files.createDirectories(tmp.resolve("ro"));
        assumeTrue(mount(readOnly, "ro,size=64k"), "needs root to mount a tmpfs");
        try {
            for (List<String> args : List.of(
                    List.of("merge", "--model", Cli.model().toString(), "--adapter", Cli.adapter().toString()),
                    List.of("pretrain", "--data", Cli.model().resolve("config.json").toString(), "--steps", "1"))) {
                List<String> all = new java.util.ArrayList<>(args);
                all.addAll(List.of("--out", readOnly.resolve("out").toString()));
                Cli.Result r = Cli.run(all.toArray(String[]::new));
                assertEquals(2, r.exitCode(), r.err());
                assertEquals(List.of(r.errLines().get(0)), r.errLines(), "exactly one line");
                assertTrue(r.err().startsWith("error: --out " + readOnly.resolve("out") + ": ") && r.err().contains("Read-only file system"), r.err());
                assertEquals(Map.of("", "dir"), Trees.hash(readOnly));
            }
        } finally {
            unmount(readOnly);
        }
    }

    private static boolean mount(Path at, String options) {
        if (!"root".equals(System.getProperty("user.name"))) {
            return false;
        }
        try {
            return new ProcessBuilder("mount", "-t", "tmpfs", "-o", options, "tmpfs", at.toString()).inheritIO().start().waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void unmount(Path at) throws Exception {
        new ProcessBuilder("umount", at.toString()).inheritIO().start().waitFor();
    }
}
