package dev.lolcats4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lolcats4j.io.SafetensorsFile;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run killed with SIGKILL mid-way and resumed ends with the same adapter as an
 * uninterrupted run with the same seed.
 */
class ResumeTest {

    @Test
    void killedAndResumedRunEqualsUninterruptedRun(@TempDir Path tmp) throws Exception {
        Path whole = tmp.resolve("whole");
        Path interrupted = tmp.resolve("interrupted");
        assertEquals(0, probe(tmp.resolve("w1"), whole, "fresh", 0).waitFor());

        Process victim = probe(tmp.resolve("w2"), interrupted, "fresh", 150);
        Path state = interrupted.resolve("checkpoint/state.json");
        long deadline = System.nanoTime() + 120_000_000_000L;
        int checkpointStep = 0;
        while (System.nanoTime() < deadline && victim.isAlive()) {
            if (Files.isRegularFile(state)) {
                checkpointStep = new ObjectMapper().readTree(state.toFile()).path("step").asInt();
                if (checkpointStep >= 6) {
                    break;
                }
            }
            Thread.sleep(20);
        }
        assertTrue(victim.isAlive(), "the run finished before it could be killed; the test proves nothing");
        victim.destroyForcibly(); // SIGKILL on Linux: no shutdown hooks, no cleanup
        victim.waitFor();
        assertTrue(checkpointStep >= 6 && checkpointStep < ResumeProbe.STEPS, "killed after step " + checkpointStep);

        assertEquals(0, probe(tmp.resolve("w2"), interrupted, "resume", 0).waitFor());
        try (SafetensorsFile a = SafetensorsFile.open(whole.resolve("final/adapter.safetensors"));
                SafetensorsFile b = SafetensorsFile.open(interrupted.resolve("final/adapter.safetensors"))) {
            assertEquals(a.tensors().keySet(), b.tensors().keySet());
            for (String name : a.tensors().keySet()) {
                float[] x = a.get(name).toFloatArray();
                float[] y = b.get(name).toFloatArray();
                for (int i = 0; i < x.length; i++) {
                    assertEquals(x[i], y[i], 1e-5, name + "[" + i + "]");
                }
            }
        }
        assertEquals(Files.readAllLines(whole.resolve("metrics.csv")).size(),
                Files.readAllLines(interrupted.resolve("metrics.csv")).size(), "metrics.csv has one row per step after resume");
    }

    private static Process probe(Path work, Path out, String mode, long pauseMillis) throws Exception {
        Files.createDirectories(work);
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("--enable-native-access=ALL-UNNAMED");
        for (String property : new String[] {"org.bytedeco.javacpp.cachedir", "jna.tmpdir", "DJL_CACHE_DIR"}) {
            if (System.getProperty(property) != null) {
                command.add("-D" + property + "=" + System.getProperty(property));
            }
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(ResumeProbe.class.getName());
        command.add(work.toString());
        command.add(out.toString());
        command.add(mode);
        command.add(Long.toString(pauseMillis));
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(new File(work.toFile(), "log-" + mode + ".txt")).start();
    }
}
