package dev.lolcats4j.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A Spark standalone cluster on this machine, loopback only: one Master and {@code workers}
 * Workers, each a subprocess JVM started from Spark's own classes (the stand-in SPARK_HOME that
 * the slow profile assembles from the Maven artifacts, without any lolcats4j jar). Executors
 * are children of the workers. {@link #close()} kills every process it started, executors
 * first; a shutdown hook does the same if the test JVM exits early.
 */
final class LoopbackSparkCluster implements AutoCloseable {

    private final Path sparkHome;
    private final Path logDir;
    private final List<Process> processes = new ArrayList<>();
    private final Thread shutdownHook = new Thread(this::killAll);
    private final int masterPort;

    private LoopbackSparkCluster(Path sparkHome, Path logDir) {
        this.sparkHome = sparkHome;
        this.logDir = logDir;
        this.masterPort = freePort();
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Starts the master and the workers and waits until every worker has registered. */
    static LoopbackSparkCluster start(Path sparkHome, Path logDir, int workers, int coresPerWorker, String memoryPerWorker)
            throws IOException, InterruptedException {
        if (!Files.isDirectory(sparkHome.resolve("jars"))) {
            throw new IllegalStateException(sparkHome.resolve("jars") + " is missing: run the test with -Pslow (the profile assembles it)");
        }
        Files.createDirectories(logDir);
        LoopbackSparkCluster cluster = new LoopbackSparkCluster(sparkHome, logDir);
        try {
            cluster.launch("master", List.of("org.apache.spark.deploy.master.Master",
                    "--host", "127.0.0.1", "--port", String.valueOf(cluster.masterPort), "--webui-port", String.valueOf(freePort())));
            cluster.waitForLog("master", "I have been elected leader", 1, Duration.ofSeconds(90));
            for (int i = 0; i < workers; i++) {
                Path workDir = Files.createDirectories(logDir.resolve("worker-" + i + "-work"));
                cluster.launch("worker-" + i, List.of("org.apache.spark.deploy.worker.Worker",
                        "--host", "127.0.0.1", "--webui-port", String.valueOf(freePort()),
                        "--cores", String.valueOf(coresPerWorker), "--memory", memoryPerWorker,
                        "--work-dir", workDir.toString(), cluster.masterUrl()));
            }
            cluster.waitForLog("master", "Registering worker", workers, Duration.ofSeconds(120));
            return cluster;
        } catch (IOException | InterruptedException | RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    String masterUrl() {
        return "spark://127.0.0.1:" + masterPort;
    }

    /** The environment every JVM of the cluster (and a driver talking to it) needs: loopback, Spark's home, this JDK. */
    static Map<String, String> loopbackEnvironment(Path sparkHome) {
        return Map.of(
                "SPARK_LOCAL_IP", "127.0.0.1",
                "SPARK_HOME", sparkHome.toString(),
                "SPARK_SCALA_VERSION", "2.13",
                "JAVA_HOME", System.getProperty("java.home"),
                "OPENBLAS_NUM_THREADS", "1",
                // One libtorch thread everywhere, so that a block trained in an executor and one
                // trained by the local runner do the same arithmetic in the same order.
                "LOLCATS_THREADS", "1");
    }

    private void launch(String name, List<String> mainAndArgs) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx256m");
        command.addAll(Arrays.asList(System.getProperty("lolcats.test.sparkJvmOptions", "").trim().split("\\s+")));
        // No REST submission server: it would take the fixed port 6066 and is not needed.
        command.add("-Dspark.master.rest.enabled=false");
        command.add("-cp");
        command.add(sparkHome.resolve("jars") + "/*");
        command.addAll(mainAndArgs);
        ProcessBuilder builder = new ProcessBuilder(command.stream().filter(s -> !s.isBlank()).toList());
        builder.environment().putAll(loopbackEnvironment(sparkHome));
        builder.redirectErrorStream(true);
        builder.redirectOutput(logDir.resolve(name + ".log").toFile());
        synchronized (processes) {
            processes.add(builder.start());
        }
    }

    private void waitForLog(String name, String line, int times, Duration timeout) throws IOException, InterruptedException {
        Path log = logDir.resolve(name + ".log");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log).split(java.util.regex.Pattern.quote(line), -1).length - 1 >= times) {
                return;
            }
            for (Process p : processes) {
                if (!p.isAlive()) {
                    throw new IllegalStateException("a Spark process exited early (" + p.exitValue() + "); see logs in " + logDir);
                }
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("no \"" + line + "\" x" + times + " in " + log + " within " + timeout);
    }

    /** Pids of every process of the cluster that is still alive, executors included. */
    List<Long> livePids() {
        List<Long> pids = new ArrayList<>();
        synchronized (processes) {
            for (Process p : processes) {
                p.toHandle().descendants().filter(ProcessHandle::isAlive).forEach(h -> pids.add(h.pid()));
                if (p.isAlive()) {
                    pids.add(p.pid());
                }
            }
        }
        return pids;
    }

    private void killAll() {
        synchronized (processes) {
            for (Process p : processes) {
                p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
            for (Process p : processes) {
                try {
                    p.waitFor();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    @Override
    public void close() {
        killAll();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // the hook runs anyway
        }
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
