package dev.lolcats4j.spark;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.train.blockwise.BlockJobSpec;
import dev.lolcats4j.train.blockwise.BlockProgress;
import dev.lolcats4j.train.blockwise.BlockResult;
import dev.lolcats4j.train.blockwise.BlockRunner;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.SparkContext$;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import scala.Function2;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.BoxedUnit;

/**
 * Runs block jobs as Apache Spark tasks: one partition and one task per block, so Spark
 * places the blocks on executors, retries failed attempts ({@code spark.task.maxFailures};
 * in local mode only with {@code local[N,F]}) and reports each block as its task finishes.
 *
 * <p>Every attempt runs the idempotent {@code BlockJob.run}, so a retry only finishes what an
 * earlier attempt left undone. Speculative execution is switched off: the block-job contract
 * forbids two attempts of one block at once. The model, the hidden-state cache and the run
 * folder must be on storage every executor sees at the same path.
 */
public final class SparkBlockRunner implements BlockRunner {

    public static final String NAME = "spark";

    private static final String APP_NAME = "lolcats4j block-wise linearize";

    private final String master;
    private final BlockTask task;
    private JavaSparkContext context;
    private boolean ownsContext;
    private Path scratchDir;

    /** A runner that starts (or joins) a Spark context on first use; {@code master} null = spark.master or local[*]. */
    public SparkBlockRunner(String master) {
        this.master = master == null ? null : SparkMasters.check(master);
        this.task = BlockTask.blockJob();
    }

    /** A runner that starts its own context on {@code master} and runs {@code task} (tests). */
    SparkBlockRunner(String master, BlockTask task) {
        this.master = SparkMasters.check(master);
        this.task = task;
    }

    /** A runner on a context that the caller owns and stops (tests, applications with their own Spark). */
    public SparkBlockRunner(JavaSparkContext context) {
        this(context, BlockTask.blockJob());
    }

    SparkBlockRunner(JavaSparkContext context, BlockTask task) {
        this.master = null;
        this.task = task;
        this.context = context;
        this.ownsContext = false;
    }

    @Override
    public List<BlockResult> run(List<BlockJobSpec> jobs, BlockProgress progress) {
        if (jobs.isEmpty()) {
            return List.of();
        }
        JavaSparkContext sc = context();
        String group = "lolcats4j-blockwise-" + UUID.randomUUID();
        TaskProgressListener listener = new TaskProgressListener(group, jobs, progress);
        sc.setJobGroup(group, "block-wise attention transfer, " + jobs.size() + " blocks", false);
        sc.sc().addSparkListener(listener);
        try {
            // numSlices = number of blocks: Spark's slicing then puts exactly job i in partition i.
            JavaRDD<BlockJobSpec> rdd = sc.parallelize(jobs, jobs.size());
            BlockResult[] results = new BlockResult[jobs.size()];
            BlockTask work = task;
            Function2<TaskContext, Iterator<BlockJobSpec>, BlockResult> perPartition =
                    (Function2<TaskContext, Iterator<BlockJobSpec>, BlockResult> & Serializable) (ctx, specs) -> runPartition(work, specs);
            Function2<Object, BlockResult, BoxedUnit> onResult = (index, result) -> {
                int i = (Integer) index;
                results[i] = result;
                listener.finished(i, result);
                return BoxedUnit.UNIT;
            };
            List<Object> partitions = new ArrayList<>(IntStream.range(0, jobs.size()).boxed().toList());
            ClassTag<BlockResult> tag = ClassTag$.MODULE$.apply(BlockResult.class);
            sc.sc().runJob(rdd.rdd(), perPartition, CollectionConverters.asScala(partitions).toSeq(), onResult, tag);
            return Arrays.asList(results);
        } catch (Exception e) { // Scala code throws the checked SparkException undeclared
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof BadInputException bad) {
                    throw bad; // bad input seen inside a task (e.g. a cache built from another model): exit 2, as locally
                }
            }
            throw new IllegalStateException("block-wise run on Spark (" + sc.master() + ") failed: " + rootMessage(e), e);
        } finally {
            sc.sc().removeSparkListener(listener);
            sc.clearJobGroup();
        }
    }

    private static BlockResult runPartition(BlockTask work, Iterator<BlockJobSpec> specs) {
        BlockJobSpec spec = specs.next();
        if (specs.hasNext()) {
            throw new IllegalStateException("expected one block per Spark partition, found more in the partition of " + spec.label());
        }
        return work.run(spec);
    }

    private synchronized JavaSparkContext context() {
        if (context == null) {
            // An application (or a test) that already runs a Spark context in this JVM shares
            // it: Spark allows one per JVM. Then the caller keeps owning it and stops it.
            // (getActive is Scala-package-private, which is public in the bytecode.)
            boolean running = SparkContext$.MODULE$.getActive().isDefined();
            SparkConf conf = configure(new SparkConf(), master);
            context = JavaSparkContext.fromSparkContext(SparkContext.getOrCreate(conf));
            ownsContext = !running;
            if (ownsContext && !conf.contains("spark.log.level")) {
                context.setLogLevel("WARN");
            }
        }
        return context;
    }

    /**
     * The settings the runner needs on top of the user's ({@code spark.*} system properties,
     * or what spark-submit passed): a master, no speculation, retries, and on a cluster the
     * jars and JVM options the executors need.
     */
    SparkConf configure(SparkConf conf, String requestedMaster) {
        if (requestedMaster != null) {
            conf.setMaster(requestedMaster);
        } else if (!conf.contains("spark.master")) {
            conf.setMaster(SparkMasters.DEFAULT);
        }
        conf.setIfMissing("spark.app.name", APP_NAME);
        conf.set("spark.speculation", "false");
        conf.setIfMissing("spark.task.maxFailures", "4");
        conf.setIfMissing("spark.ui.enabled", "false");
        if (SparkMasters.isLocal(conf.get("spark.master"))) {
            // Local mode has no remote executors: its driver and block manager listen on
            // loopback only (Spark would pick the machine's first non-loopback address).
            conf.setIfMissing("spark.driver.host", "127.0.0.1");
            conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
        } else {
            if (!conf.contains("spark.jars")) {
                conf.set("spark.jars", ExecutorJars.forExecutors(scratchDir()));
            }
            conf.setIfMissing("spark.executor.extraJavaOptions", executorJavaOptions());
            conf.setIfMissing("spark.executorEnv.OPENBLAS_NUM_THREADS", "1");
        }
        return conf;
    }

    /** What ./lolcats gives the CLI's JVM, for the executors' JVMs (Spark adds its own --add-opens). */
    static String executorJavaOptions() {
        StringBuilder options = new StringBuilder("-Xss8m --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED");
        String cacheDir = System.getProperty("org.bytedeco.javacpp.cachedir");
        if (cacheDir != null && !cacheDir.isBlank() && !cacheDir.contains(" ")) {
            options.append(" -Dorg.bytedeco.javacpp.cachedir=").append(cacheDir);
        }
        return options.toString();
    }

    private Path scratchDir() {
        if (scratchDir == null) {
            try {
                scratchDir = Files.createTempDirectory("lolcats4j-spark-jars");
            } catch (IOException e) {
                throw new UncheckedIOException("could not create a folder for the executors' jars", e);
            }
        }
        return scratchDir;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        return message.lines().findFirst().orElse(message) + (t != e ? " (cause: " + t + ")" : "");
    }

    /** Stops the Spark context if this runner started it. */
    @Override
    public synchronized void close() {
        if (context != null && ownsContext) {
            context.stop();
        }
        context = null;
        if (scratchDir != null) {
            try (var files = Files.walk(scratchDir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // temp folder: the OS cleans it eventually
            }
            scratchDir = null;
        }
    }
}
