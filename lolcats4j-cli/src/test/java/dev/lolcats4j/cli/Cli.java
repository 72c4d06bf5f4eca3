package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Runs the CLI in-process with captured streams, and locates the test fixtures. */
final class Cli {

    static final ObjectMapper JSON = new ObjectMapper();

    private Cli() {}

    record Result(int exitCode, String out, String err) {

        JsonNode json() {
            try {
                return JSON.readTree(out);
            } catch (IOException e) {
                throw new AssertionError("stdout is not JSON: " + out, e);
            }
        }

        List<String> errLines() {
            return err.lines().toList();
        }

        /**
         * Exit 2, nothing on stdout, and exactly one {@code error:} line, the last one on stderr
         * (progress lines written before the error are allowed; see {@link #assertOnlyBadInput}).
         */
        String assertBadInput() {
            assertEquals(2, exitCode, () -> "exit code; stderr: " + err);
            assertEquals("", out, "stdout on bad input");
            List<String> errors = errLines().stream().filter(l -> l.startsWith("error: ")).toList();
            assertEquals(1, errors.size(), () -> "one error line expected, stderr: " + err);
            List<String> lines = errLines();
            assertEquals(errors.get(0), lines.get(lines.size() - 1), "the error is the last line");
            assertTrue(lines.stream().noneMatch(l -> l.startsWith("\tat ")), "no stack trace");
            return errors.get(0);
        }

        /** Exit 2, nothing on stdout, and stderr exactly one line, {@code error: ...}. */
        String assertOnlyBadInput() {
            assertEquals(2, exitCode, () -> "exit code; stderr: " + err);
            assertEquals("", out, "stdout on bad input");
            assertTrue(err.endsWith("\n"), () -> "stderr ends with a newline: " + err);
            assertEquals(1, errLines().size(), () -> "stderr must be exactly one line: " + err);
            assertTrue(err.startsWith("error: "), () -> "stderr: " + err);
            return errLines().get(0);
        }

        void assertOk() {
            assertEquals(0, exitCode, () -> "exit code; stderr: " + err);
        }
    }

    /**
     * Runs one command line in-process. {@code System.out} and {@code System.err} are captured
     * too for the duration (picocli's own warnings and anything else printed directly go
     * there), so that {@link Result#err} is everything a user would see on stderr. The JVM's
     * start-up warning about incubator modules cannot appear in-process; the launcher drops it
     * (scripts/run-java.sh, checked by StderrHygieneTest).
     */
    static synchronized Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        PrintStream systemOut = System.out;
        PrintStream systemErr = System.err;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            System.setOut(o);
            System.setErr(e);
            try {
                code = Main.run(args, o, e);
            } finally {
                System.setOut(systemOut);
                System.setErr(systemErr);
            }
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The parity fixtures copied from lolcats4j-core (see resources/parity/cases.json). */
    static Path parity() {
        try {
            return Path.of(Cli.class.getResource("/parity").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path model() {
        return parity().resolve("models/llama-f32");
    }

    static Path adapter() {
        return parity().resolve("adapters/llama-f32-sw-lora");
    }

    static JsonNode testCase(String name) {
        try {
            for (JsonNode c : JSON.readTree(parity().resolve("cases.json").toFile()).get("cases")) {
                if (c.get("name").asText().equals(name)) {
                    return c;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalArgumentException("no case " + name);
    }

    static double tolerance() {
        try {
            return JSON.readTree(parity().resolve("cases.json").toFile()).get("tolerance_abs_logprob").asDouble();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] ints(JsonNode array) {
        int[] v = new int[array.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = array.get(i).asInt();
        }
        return v;
    }

    static double[] doubles(JsonNode array) {
        double[] v = new double[array.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = array.get(i).asDouble();
        }
        return v;
    }

    static String idList(JsonNode array) {
        List<String> parts = new ArrayList<>();
        array.forEach(n -> parts.add(n.asText()));
        return String.join(",", parts);
    }

    /** Copies a fixture folder (flat) into {@code target}. */
    static Path copy(Path source, Path target) {
        try {
            Files.createDirectories(target);
            try (Stream<Path> files = Files.list(source)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    Files.copy(f, target.resolve(f.getFileName()));
                }
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sorted names of every file under {@code dir}, to check that nothing was left behind. */
    static List<String> listing(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.map(p -> dir.relativize(p).toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
