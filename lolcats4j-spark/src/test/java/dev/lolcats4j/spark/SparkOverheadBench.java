package dev.lolcats4j.spark;

import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.data.PackedDataset.Sequence;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.LoraConfig;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.train.LinearizeOptions;
import dev.lolcats4j.train.Linearization;
import dev.lolcats4j.train.blockwise.BlockJobSpec;
import dev.lolcats4j.train.blockwise.BlockProgress;
import dev.lolcats4j.train.blockwise.BlockResult;
import dev.lolcats4j.train.blockwise.BlockRunner;
import dev.lolcats4j.train.blockwise.BlockTraining;
import dev.lolcats4j.train.blockwise.BlockwiseTransfer;
import dev.lolcats4j.train.blockwise.HiddenStateCache;
import dev.lolcats4j.train.blockwise.LocalBlockRunner;
import dev.lolcats4j.model.ModelConfigReader;
import dev.lolcats4j.model.ModelFactory;
import dev.lolcats4j.model.ModelWriter;
import dev.lolcats4j.torch.Tensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * {@code model DIR VOCAB HIDDEN INTERMEDIATE LAYERS HEADS KV_HEADS} writes a random bf16 model.
 *
 * <p>Wall time of the same block-wise stage-1 work with the local runner and with the Spark
 * runner in local mode, side by side in one JVM: {@code MODEL WORK K ROUNDS MASTER}. The
 * hidden-state cache is built once; each round trains every block from scratch into a fresh
 * run folder with each runner, alternating which goes first. The Spark context is started
 * once and its start-up time reported apart. The data follow lolcats4j-bench's BlockwiseBench
 * (16 + 2 random sequences of 128 tokens, 2 steps per block).
 */
public final class SparkOverheadBench {

    private static final int SEQUENCES = 16;
    private static final int HELD_OUT = 2;
    private static final int LENGTH = 128;
    private static final int STEPS = 2;

    public static void main(String[] args) {
        if (args[0].equals("model")) {
            // model DIR VOCAB HIDDEN INTERMEDIATE LAYERS HEADS KV_HEADS: a random bf16 model of that shape
            Natives.init();
            int[] n = Arrays.stream(args, 2, 8).mapToInt(Integer::parseInt).toArray();
            ModelWriter.save(ModelFactory.random(ModelConfig.llama(n[0], n[1], n[2], n[3], n[4], n[5]), ComputeType.BF16, 1234),
                    Path.of(args[1]), Tensors.BF16);
            return;
        }
        Path model = Path.of(args[0]).toAbsolutePath();
        Path work = Path.of(args[1]).toAbsolutePath();
        int k = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        String master = args[4];
        Natives.init();
        ModelConfig config = ModelConfigReader.read(model);
        PackedDataset data = data(config.vocabSize());
        long t0 = System.nanoTime();
        HiddenStateCache.prepare(work.resolve("cache"), model, ComputeType.BF16, data,
                BlockwiseTransfer.boundaries(config.numLayers(), k), HiddenStateCache.DEFAULT_SHARD_BYTES, HiddenStateCache.Listener.SILENT);
        System.out.printf(Locale.ROOT, "cache: %.1f s%n", (System.nanoTime() - t0) / 1e9);
        LinearizeOptions o = new LinearizeOptions(model, ComputeType.BF16, null, work, "transfer", false, AdapterConfig.defaults(),
                LoraConfig.defaults(), STEPS, 1e-2, 0, null, 1e-4, false, 1, 1, 0, 0, 1, 10, 0, 42, null);
        BlockTraining training = BlockTraining.of(Linearization.trainConfig(o, STEPS, 1e-2), 0);

        long s0 = System.nanoTime();
        SparkConf conf = new SparkConf().setMaster(master).setAppName("spark overhead bench").set("spark.ui.enabled", "false")
                .set("spark.speculation", "false");
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            sc.setLogLevel("WARN");
            System.out.printf(Locale.ROOT, "spark context start (%s): %.1f s%n", master, (System.nanoTime() - s0) / 1e9);
            List<double[]> times = new ArrayList<>();
            // Round 0 warms up (JIT, page cache, libtorch's first calls) and is not counted.
            for (int r = 0; r <= rounds; r++) {
                double local = 0;
                double spark = 0;
                for (int turn = 0; turn < 2; turn++) {
                    boolean sparkTurn = (r + turn) % 2 == 1;
                    String name = sparkTurn ? "spark" : "local";
                    List<BlockJobSpec> jobs = BlockwiseTransfer.plan(model, work.resolve("cache"), work.resolve("round-" + r + "-" + name),
                            config.numLayers(), k, ComputeType.BF16.name(), AdapterConfig.defaults(), training);
                    BlockRunner runner = sparkTurn ? new SparkBlockRunner(sc) : new LocalBlockRunner(1);
                    long start = System.nanoTime();
                    List<BlockResult> results = runner.run(jobs, BlockProgress.SILENT);
                    double seconds = (System.nanoTime() - start) / 1e9;
                    if (results.stream().anyMatch(BlockResult::reused)) {
                        throw new IllegalStateException("a block was reused; the run folder was not fresh");
                    }
                    double inJobs = results.stream().mapToDouble(BlockResult::seconds).sum();
                    System.out.printf(Locale.ROOT, "round %d %s: %d blocks in %.2f s (%.2f s inside the block jobs, %.2f s around them)%n",
                            r, name, results.size(), seconds, inJobs, seconds - inJobs);
                    if (sparkTurn) {
                        spark = seconds;
                    } else {
                        local = seconds;
                    }
                }
                if (r > 0) {
                    times.add(new double[] {local, spark});
                }
                System.out.printf(Locale.ROOT, "round %d%s: spark/local = %.3f%n", r, r == 0 ? " (warm-up)" : "", spark / local);
            }
            double local = times.stream().mapToDouble(t -> t[0]).sum();
            double spark = times.stream().mapToDouble(t -> t[1]).sum();
            System.out.printf(Locale.ROOT, "total over %d rounds after warm-up: local %.1f s, spark %.1f s, spark/local %.3f (overhead %+.1f%%)%n",
                    rounds, local, spark, spark / local, 100 * (spark / local - 1));
        }
    }

    private static PackedDataset data(int vocab) {
        SplittableRandom random = new SplittableRandom(99);
        List<Sequence> all = new ArrayList<>();
        for (int s = 0; s < SEQUENCES + HELD_OUT; s++) {
            int[] tokens = new int[LENGTH + 1];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = random.nextInt(vocab);
            }
            boolean[] counts = new boolean[LENGTH];
            Arrays.fill(counts, true);
            all.add(new Sequence(tokens, counts));
        }
        return PackedDataset.of(all.subList(0, SEQUENCES), all.subList(SEQUENCES, all.size()), 7);
    }
}
