package dev.lolcats4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.train.blockwise.BlockJobSpec;
import dev.lolcats4j.train.blockwise.BlockProgress;
import dev.lolcats4j.train.blockwise.BlockResult;
import dev.lolcats4j.train.blockwise.BlockRunners;
import dev.lolcats4j.train.blockwise.BlockTraining;
import dev.lolcats4j.train.blockwise.RunnerSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.spark.TaskContext;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Spark runner's scheduling contract, on the shared local[2,2] context. */
class SparkBlockRunnerTest {

    @TempDir
    Path runDir;

    @Test
    void tasksLoadLibtorchAsTheCliDoes() {
        List<Double> sums = SharedSpark.context().parallelize(List.of(1, 2, 3, 4), 4).map(n -> {
            Natives.init();
            return torch.arange(new Scalar((double) (n * 10))).sum().item_double();
        }).collect();
        // sum of 0..(10n-1) = 10n(10n-1)/2
        assertEquals(List.of(45.0, 190.0, 435.0, 780.0), sums);
    }

    @Test
    void runsOneTaskPerBlockAndReturnsResultsInBlockOrder() throws IOException {
        List<BlockJobSpec> jobs = specs(5);
        Recorder progress = new Recorder();
        List<BlockResult> results = new SparkBlockRunner(SharedSpark.context(), new BlockTask(new RecordingWork())).run(jobs, progress);

        assertEquals(5, results.size());
        for (int i = 0; i < 5; i++) {
            assertEquals(i, results.get(i).blockIndex());
            assertEquals(2 * i, results.get(i).firstLayer());
            // Each block ran once, alone in its own partition (partition id = block index).
            String marker = Files.readString(jobs.get(i).blockDir().resolve("ran.txt"), StandardCharsets.UTF_8);
            assertEquals("partition " + i + " attempt 0", marker);
        }
        List<Integer> finished = new ArrayList<>(progress.finished);
        Collections.sort(finished);
        assertEquals(List.of(0, 1, 2, 3, 4), finished);
    }

    @Test
    void aFailedAttemptIsRetriedBySpark() {
        List<BlockJobSpec> jobs = specs(3);
        Recorder progress = new Recorder();
        List<BlockResult> results = new SparkBlockRunner(SharedSpark.context(), new BlockTask(new FailsFirstAttemptOfBlock1())).run(jobs, progress);

        assertEquals(List.of(0, 1, 2), results.stream().map(BlockResult::blockIndex).toList());
        waitForListenerBus();
        assertTrue(progress.messages.stream().anyMatch(m -> m.contains("block 1") && m.contains("attempt 1 failed") && m.contains("injected failure")),
                () -> "messages: " + progress.messages);
    }

    @Test
    void aBlockThatFailsEveryAttemptFailsTheRunNamingTheCause() {
        List<BlockJobSpec> jobs = specs(2);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new SparkBlockRunner(SharedSpark.context(), new BlockTask(new AlwaysFails())).run(jobs, BlockProgress.SILENT));
        assertTrue(e.getMessage().contains("always fails"), e.getMessage());
    }

    @Test
    void theCliFindsTheRunnerByNameAndChecksTheMaster() {
        assertTrue(BlockRunners.available().contains("spark"), BlockRunners.available().toString());
        assertInstanceOf(SparkBlockRunner.class, BlockRunners.find("spark").create(new RunnerSettings("spark://127.0.0.1:7077", 1)));
        for (String bad : new String[] {"", "local[0]", "spark://127.0.0.1", "spark://host:99999", "mesos://x:5050", "local[*"}) {
            BadInputException e = assertThrows(BadInputException.class,
                    () -> BlockRunners.find("spark").create(new RunnerSettings(bad, 1)), bad);
            assertTrue(e.getMessage().startsWith("--master: expected"), e.getMessage());
        }
    }

    @Test
    void onAClusterTheExecutorsGetLolcatsJarsButNotSparksOwn() {
        SparkBlockRunner runner = new SparkBlockRunner("spark://127.0.0.1:7077");
        try {
            var conf = runner.configure(new org.apache.spark.SparkConf(false), "spark://127.0.0.1:7077");
            List<String> jars = List.of(conf.get("spark.jars").split(","));
            assertTrue(jars.stream().anyMatch(j -> j.contains("pytorch") && j.endsWith("linux-x86_64.jar")), jars.toString());
            assertTrue(jars.stream().noneMatch(j -> j.contains("spark-core")), jars.toString());
            assertEquals("false", conf.get("spark.speculation"));
            assertTrue(conf.get("spark.executor.extraJavaOptions").contains("--enable-native-access=ALL-UNNAMED"));
        } finally {
            runner.close();
        }
    }

    @Test
    void localModeListensOnLoopbackOnly() {
        SparkBlockRunner runner = new SparkBlockRunner("local[2]");
        try {
            var conf = runner.configure(new org.apache.spark.SparkConf(false), "local[2]");
            assertEquals("127.0.0.1", conf.get("spark.driver.bindAddress"));
            assertEquals("127.0.0.1", conf.get("spark.driver.host"));
            assertTrue(!conf.contains("spark.jars"), "local mode ships no jars");
        } finally {
            runner.close();
        }
    }

    private static void waitForListenerBus() {
        // Task-end events reach listeners asynchronously; give the bus a moment to drain.
        try {
            Thread.sleep(300);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private List<BlockJobSpec> specs(int blocks) {
        BlockTraining training = new BlockTraining(10, 1e-3, 0.0, 2, 1, 5, 5, 1, 5, 7L, 0.0);
        List<BlockJobSpec> jobs = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            jobs.add(new BlockJobSpec("/no/model", "/no/cache", runDir.toString(), i, blocks, 2 * i, 2 * i + 2, "float32", "{}", training));
        }
        return jobs;
    }

    private static BlockResult resultOf(BlockJobSpec spec) {
        return new BlockResult(spec.blockIndex(), spec.firstLayer(), spec.endLayer(), 1.0, 0.1, 10, 100, 0.0, false);
    }

    /** Writes which partition and attempt ran the block. */
    static final class RecordingWork implements BlockTask.Work {
        private static final long serialVersionUID = 1L;

        @Override
        public BlockResult run(BlockJobSpec spec) {
            TaskContext ctx = TaskContext.get();
            try {
                Files.createDirectories(spec.blockDir());
                Files.writeString(spec.blockDir().resolve("ran.txt"), "partition " + ctx.partitionId() + " attempt " + ctx.attemptNumber());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return resultOf(spec);
        }
    }

    static final class FailsFirstAttemptOfBlock1 implements BlockTask.Work {
        private static final long serialVersionUID = 1L;

        @Override
        public BlockResult run(BlockJobSpec spec) {
            if (spec.blockIndex() == 1 && TaskContext.get().attemptNumber() == 0) {
                throw new IllegalStateException("injected failure");
            }
            return resultOf(spec);
        }
    }

    static final class AlwaysFails implements BlockTask.Work {
        private static final long serialVersionUID = 1L;

        @Override
        public BlockResult run(BlockJobSpec spec) {
            throw new IllegalStateException(spec.label() + " always fails");
        }
    }

    /** Thread-safe record of progress calls. */
    static final class Recorder implements BlockProgress {
        final List<Integer> finished = Collections.synchronizedList(new ArrayList<>());
        final List<String> messages = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void onBlockFinished(BlockJobSpec job, BlockResult result) {
            finished.add(result.blockIndex());
        }

        @Override
        public void onMessage(String message) {
            messages.add(message);
        }
    }
}
