package dev.lolcats4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import dev.lolcats4j.io.SafetensorsFile;
import dev.lolcats4j.lolcats.HybridParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A real Spark standalone cluster on loopback: a master and two workers (subprocess JVMs from
 * Spark's jars only), drivers in their own JVMs talking to {@code spark://127.0.0.1:PORT}.
 */
@Tag("slow")
class SparkStandaloneClusterTest {

    /** Logs and run folders stay in target/ for a look after a failure. */
    static Path work;

    static LoopbackSparkCluster cluster;

    @BeforeAll
    static void startCluster() throws Exception {
        work = Files.createDirectories(Path.of("target", "cluster-test", String.valueOf(System.currentTimeMillis())).toAbsolutePath());
        cluster = LoopbackSparkCluster.start(sparkHome(), work.resolve("cluster-logs"), 2, 1, "2g");
    }

    @AfterAll
    static void stopCluster() throws InterruptedException {
        if (cluster == null) {
            return;
        }
        List<Long> pids = cluster.livePids();
        cluster.close();
        // Cleanup really ended every process: master, workers and their executors.
        for (long pid : pids) {
            ProcessHandle.of(pid).ifPresent(h -> h.onExit().completeOnTimeout(h, 10, TimeUnit.SECONDS).join());
            assertTrue(ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true), "process " + pid + " survived");
        }
    }

    @Test
    void executorsGetTheJarsAndLoadLibtorch() throws Exception {
        Path runDir = Files.createDirectories(work.resolve("probe"));
        List<String> out = runDriver(List.of(ClusterProbeDriver.class.getName(), cluster.masterUrl(), "4", runDir.toString()),
                work.resolve("probe-driver.log"));
        assertEquals(4, out.size(), out.toString());
        long driverPid = -1;
        for (int i = 0; i < 4; i++) {
            String[] f = out.get(i).split(" ");
            assertEquals("block", f[0]);
            assertEquals(i, Integer.parseInt(f[1]));
            double n = 100.0 * (i + 1);
            assertEquals(n * (n - 1) / 2, Double.parseDouble(f[3]), 0.0, out.get(i));
            assertTrue(Long.parseLong(f[7]) != driverPid && Long.parseLong(f[7]) != ProcessHandle.current().pid());
        }
    }

    @Test
    void blockwiseLinearizeThroughTheClusterGivesTheLocalRunnersAdapter() throws Exception {
        Path corpus = work.resolve("corpus.txt");
        StringBuilder text = new StringBuilder();
        String[] words = {"the whale", "a ship", "the sea", "my captain", "the harpoon", "a storm"};
        for (int i = 0; i < 300; i++) {
            text.append(words[i % words.length]).append(i % 7 == 0 ? ".\n\n" : " and ");
        }
        Files.writeString(corpus, text.toString());
        Path teacher = work.resolve("teacher");
        runDriver(List.of(MAIN, "pretrain", "--data", corpus.toString(), "--out", teacher.toString(), "--seq-len", "32", "--steps", "2",
                "--hidden", "32", "--layers", "2", "--heads", "2", "--kv-heads", "1", "--intermediate", "64",
                "--batch", "4", "--micro-batch", "4"), work.resolve("pretrain.log"));
        List<String> common = List.of("linearize", "--model", teacher.toString(), "--data", corpus.toString(), "--seq-len", "32",
                "--feature-dim", "4", "--window", "8", "--stage", "transfer", "--transfer-steps", "6", "--batch", "2",
                "--micro-batch", "2", "--eval-every", "2", "--checkpoint-every", "2", "--blockwise", "1");

        List<String> local = new ArrayList<>(common);
        local.addAll(List.of("--out", work.resolve("by-local").toString(), "--runner", "local"));
        String localOut = String.join("\n", runDriver(concat(MAIN, local), work.resolve("linearize-local.log")));

        List<String> spark = new ArrayList<>(common);
        spark.addAll(List.of("--out", work.resolve("by-spark").toString(), "--runner", "spark", "--master", cluster.masterUrl()));
        String sparkOut = String.join("\n", runDriver(concat(MAIN, spark), work.resolve("linearize-spark.log")));

        assertTrue(localOut.contains("runner local): 2 trained"), localOut);
        assertTrue(sparkOut.contains("runner spark): 2 trained"), sparkOut);
        // The blocks really ran in the cluster's executors: the master launched executors for the app.
        String masterLog = Files.readString(work.resolve("cluster-logs/master.log"));
        assertTrue(masterLog.split("Launching executor", -1).length - 1 >= 2, "executors launched");
        int tensors = assertSameAdapter(work.resolve("by-local"), work.resolve("by-spark"));
        assertEquals(6, tensors, "feature maps q/k and window factors of both layers");
    }

    private static final String MAIN = "dev.lolcats4j.cli.Main";

    private static List<String> concat(String first, List<String> rest) {
        List<String> all = new ArrayList<>();
        all.add(first);
        all.addAll(rest);
        return all;
    }

    /** Same tensor names, values within 1e-6 (both runs use one libtorch thread per block), and changed by training. */
    private static int assertSameAdapter(Path a, Path b) {
        try (SafetensorsFile x = SafetensorsFile.open(a.resolve("adapter.safetensors"));
                SafetensorsFile y = SafetensorsFile.open(b.resolve("adapter.safetensors"))) {
            assertEquals(x.tensors().keySet(), y.tensors().keySet());
            for (String name : x.tensors().keySet()) {
                float[] p = x.get(name).toFloatArray();
                float[] q = y.get(name).toFloatArray();
                assertEquals(p.length, q.length, name);
                for (int i = 0; i < p.length; i++) {
                    assertEquals(p[i], q[i], 1e-6, name + "[" + i + "]");
                }
            }
            float[] factors = x.get("model.layers.1.self_attn.window_factors").toFloatArray();
            assertTrue(Math.abs(factors[0] - HybridParams.INITIAL_WINDOW_LOGIT) > 1e-4, "window factors trained");
            return x.tensors().size();
        }
    }

    /** Runs {@code mainAndArgs} in a driver JVM with this test's class path; returns its stdout lines. */
    static List<String> runDriver(List<String> mainAndArgs, Path log) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx1g");
        command.add("-Xss8m");
        command.add("--add-modules=jdk.incubator.vector");
        command.add("--enable-native-access=ALL-UNNAMED");
        command.addAll(Arrays.asList(System.getProperty("lolcats.test.sparkJvmOptions", "").trim().split("\\s+")));
        for (String property : new String[] {"org.bytedeco.javacpp.cachedir", "jna.tmpdir", "DJL_CACHE_DIR"}) {
            if (System.getProperty(property) != null) {
                command.add("-D" + property + "=" + System.getProperty(property));
            }
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.addAll(mainAndArgs);
        ProcessBuilder builder = new ProcessBuilder(command.stream().filter(s -> !s.isBlank()).toList());
        builder.environment().putAll(LoopbackSparkCluster.loopbackEnvironment(sparkHome()));
        Path stdout = log.resolveSibling(log.getFileName() + ".out");
        builder.redirectOutput(stdout.toFile());
        builder.redirectError(log.toFile());
        Process driver = builder.start();
        try {
            if (!driver.waitFor(4, TimeUnit.MINUTES)) {
                throw new AssertionError("driver did not finish within 4 minutes; log: " + log);
            }
            assertEquals(0, driver.exitValue(), () -> "driver failed; log:\n" + tail(log));
            return Files.readAllLines(stdout);
        } finally {
            driver.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            driver.destroyForcibly();
        }
    }

    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    static Path sparkHome() {
        return Path.of(System.getProperty("lolcats.test.sparkHome", "target/spark-home"));
    }
}
