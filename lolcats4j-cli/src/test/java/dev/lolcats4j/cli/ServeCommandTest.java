package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lolcats serve} as a user runs it, in its own process: greedy output equals
 * {@code lolcats generate} for the same prompt (text through the demo teacher's tokenizer,
 * token ids through a parity fixture with an adapter); a kill -9 leaves every file as it was,
 * and a restarted server answers at once.
 */
class ServeCommandTest {

    static final Pattern LISTENING = Pattern.compile("serving .* on http://127\\.0\\.0\\.1:(\\d+)/v1");

    /** A running `lolcats serve` process and its port. */
    record Served(Process process, int port, List<String> log) implements AutoCloseable {
        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    static Served serve(Path workDir, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss8m"));
        for (String property : new String[] {"org.bytedeco.javacpp.cachedir", "jna.tmpdir", "DJL_CACHE_DIR"}) {
            if (System.getProperty(property) != null) {
                command.add("-D" + property + "=" + System.getProperty(property));
            }
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "serve", "--port", "0"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(workDir.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Integer> port = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    log.add(line);
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        port.complete(Integer.parseInt(m.group(1)));
                    }
                }
            } catch (IOException e) {
                // process gone
            }
            port.completeExceptionally(new AssertionError("server ended before listening: " + log));
        });
        reader.setDaemon(true);
        reader.start();
        try {
            return new Served(p, port.get(120, TimeUnit.SECONDS), log);
        } catch (Exception e) {
            p.destroyForcibly();
            throw new AssertionError("server did not start: " + log, e);
        }
    }

    static JsonNode complete(int port, String body) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return Cli.JSON.readTree(r.body());
    }

    static Path demoTeacher() {
        return Path.of("..", "demo", "teacher").toAbsolutePath().normalize();
    }

    @Test
    void greedyTextEqualsGenerateAndKillNineLosesNothing(@TempDir Path tmp) throws Exception {
        Path model = Cli.copy(demoTeacher(), tmp.resolve("teacher"));
        Path work = Files.createDirectories(tmp.resolve("work"));
        String before = fingerprint(tmp);
        Cli.Result generated = Cli.run("generate", "--model", model.toString(), "--prompt", "The cat sat", "--max-new-tokens", "24", "--json");
        generated.assertOk();
        String request = "{\"prompt\": \"The cat sat\", \"max_tokens\": 24, \"temperature\": 0}";
        try (Served server = serve(work, "--model", model.toString())) {
            assertEquals(generated.json().get("text").asText(), complete(server.port(), request).path("choices").path(0).path("text").asText());
            server.process().destroyForcibly(); // SIGKILL
            assertTrue(server.process().waitFor(30, TimeUnit.SECONDS));
            assertEquals(137, server.process().exitValue(), "killed by SIGKILL");
        }
        assertEquals(before, fingerprint(tmp), "a killed server changed files");
        try (Served again = serve(work, "--model", model.toString())) {
            // The first request after the "serving" line is answered: nothing to recover.
            assertEquals(generated.json().get("text").asText(), complete(again.port(), request).path("choices").path(0).path("text").asText());
        }
        assertEquals(before, fingerprint(tmp), "a server changed files");
    }

    @Test
    void greedyIdsThroughAnAdapterEqualGenerate(@TempDir Path tmp) throws Exception {
        JsonNode c = Cli.testCase("llama-f32/sw-lora/greedy");
        String ids = Cli.idList(c.get("token_ids"));
        Cli.Result generated = Cli.run("generate", "--model", Cli.model().toString(), "--adapter", Cli.adapter().toString(),
                "--token-ids", ids, "--max-new-tokens", "12", "--json");
        generated.assertOk();
        try (Served server = serve(tmp, "--model", Cli.model().toString(), "--adapter", Cli.adapter().toString(), "--max-sessions", "2")) {
            JsonNode r = complete(server.port(), "{\"prompt\": [" + ids + "], \"max_tokens\": 12, \"temperature\": 0}");
            assertEquals(Cli.idList(generated.json().get("token_ids")), r.path("choices").path(0).path("text").asText());
            assertEquals(Cli.idList(c.get("greedy")), r.path("choices").path(0).path("text").asText(), "the float64 reference");
            assertTrue(server.log().stream().anyMatch(l -> l.contains("decode path")), "the decode path is logged: " + server.log());
        }
    }

    @Test
    void badOptionsAreOneLineErrors() {
        String model = Cli.model().toString();
        assertTrue(Cli.run("serve", "--model", model, "--port", "70000").assertBadInput().contains("--port"));
        assertTrue(Cli.run("serve", "--model", model, "--max-sessions", "0").assertBadInput().contains("--max-sessions"));
        assertTrue(Cli.run("serve", "--model", model, "--max-sessions", "2", "--max-batch", "3").assertBadInput().contains("--max-batch"));
        assertTrue(Cli.run("serve", "--model", model, "--api-key", "").assertBadInput().contains("--api-key"));
        assertTrue(Cli.run("serve", "--model", "/nonexistent/model").assertBadInput().contains("--model"));
    }

    /** Every file under dir with its size and SHA-256. */
    static String fingerprint(Path dir) throws IOException {
        StringBuilder out = new StringBuilder();
        try (var files = Files.walk(dir)) {
            for (Path f : files.sorted().toList()) {
                out.append(dir.relativize(f));
                if (Files.isRegularFile(f)) {
                    try {
                        out.append(' ').append(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))));
                    } catch (java.security.NoSuchAlgorithmException e) {
                        throw new IllegalStateException(e);
                    }
                }
                out.append('\n');
            }
        }
        return out.toString();
    }
}
