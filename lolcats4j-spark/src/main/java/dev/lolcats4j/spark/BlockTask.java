package dev.lolcats4j.spark;

import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.train.blockwise.BlockJob;
import dev.lolcats4j.train.blockwise.BlockJobSpec;
import dev.lolcats4j.train.blockwise.BlockResult;
import java.io.Serializable;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;

/**
 * What one Spark task does with its block: prepares libtorch in the executor JVM as the CLI
 * does ({@link Natives#init()}), sizes libtorch's thread pool to the task's CPUs, then runs
 * the idempotent {@link BlockJob#run(BlockJobSpec)}. Retried attempts therefore only finish
 * what an earlier attempt left undone.
 */
final class BlockTask implements Serializable {

    private static final long serialVersionUID = 1L;

    /** The work itself, swappable so tests can make an attempt fail. */
    interface Work extends Serializable {
        BlockResult run(BlockJobSpec spec);
    }

    private final Work work;

    BlockTask(Work work) {
        this.work = work;
    }

    static BlockTask blockJob() {
        return new BlockTask(BlockJob::run);
    }

    BlockResult run(BlockJobSpec spec) {
        Natives.init();
        // A cluster executor may run several tasks at once (one per core by default); each gets
        // spark.task.cpus intra-op threads so they do not oversubscribe the cores. An explicit
        // LOLCATS_THREADS wins, as it does for the CLI. In local mode the tasks share the CLI's
        // JVM, whose setting (and the stages after stage 1) stays as it is: the thread count
        // is process-wide.
        TaskContext context = TaskContext.get();
        String explicit = System.getenv("LOLCATS_THREADS");
        boolean clusterExecutor = SparkEnv.get() != null && !"driver".equals(SparkEnv.get().executorId());
        if (context != null && clusterExecutor && (explicit == null || explicit.isBlank())) {
            org.bytedeco.pytorch.global.torch.set_num_threads(Math.max(1, context.cpus()));
        }
        return work.run(spec);
    }
}
