package dev.lolcats4j.spark;

import dev.lolcats4j.train.blockwise.BlockJobSpec;
import dev.lolcats4j.train.blockwise.BlockProgress;
import dev.lolcats4j.train.blockwise.BlockResult;
import dev.lolcats4j.train.blockwise.BlockTraining;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkEnv;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.global.torch;

/**
 * A driver for the cluster test, run as its own JVM: sends block jobs through {@link
 * SparkBlockRunner} to {@code args[0]} (a master URL) with a work function that computes with
 * libtorch on the executor and reports where it ran. Prints one line per block:
 * {@code block I sum S executor E pid P}.
 */
public final class ClusterProbeDriver {

    public static void main(String[] args) {
        String master = args[0];
        int blocks = Integer.parseInt(args[1]);
        BlockTraining training = new BlockTraining(1, 1e-3, 0.0, 1, 1, 1, 1, 1, 1, 1L, 0.0);
        List<BlockJobSpec> jobs = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            jobs.add(new BlockJobSpec("/none", "/none", args[2], i, blocks, i, i + 1, "float32", "{}", training));
        }
        try (SparkBlockRunner runner = new SparkBlockRunner(master, new BlockTask(new LibtorchProbe()))) {
            for (BlockResult r : runner.run(jobs, BlockProgress.SILENT)) {
                // initialMse carries the libtorch sum, steps the executor id, trainTokens the pid (see LibtorchProbe)
                System.out.println("block " + r.blockIndex() + " sum " + r.initialMse() + " executor " + r.steps() + " pid " + r.trainTokens());
            }
        }
    }

    /** Sums 0..(100(i+1)-1) with libtorch on the executor. */
    static final class LibtorchProbe implements BlockTask.Work {
        private static final long serialVersionUID = 1L;

        @Override
        public BlockResult run(BlockJobSpec spec) {
            double sum = torch.arange(new Scalar(100.0 * (spec.blockIndex() + 1))).sum().item_double();
            int executor = Integer.parseInt(SparkEnv.get().executorId());
            long pid = ProcessHandle.current().pid();
            return new BlockResult(spec.blockIndex(), spec.firstLayer(), spec.endLayer(), sum, 0, executor, pid, 0, false);
        }
    }

}
