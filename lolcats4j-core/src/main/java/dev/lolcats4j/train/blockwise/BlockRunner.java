package dev.lolcats4j.train.blockwise;

import java.util.List;

/**
 * Runs a set of block jobs somewhere and returns their results. Implementations: {@link
 * LocalBlockRunner} (this process) and, in the lolcats4j-spark module, one Spark task per
 * block. Found by name through {@link BlockRunners}.
 *
 * <p>A runner must run every job through {@link BlockJob#run(BlockJobSpec)} (which is
 * idempotent, so retries are safe), return one result per job in the order of {@code jobs},
 * and throw if any job finally failed. It must not run two attempts of one job at once.
 */
public interface BlockRunner extends AutoCloseable {

    List<BlockResult> run(List<BlockJobSpec> jobs, BlockProgress progress);

    /** Releases what the runner started (thread pool, Spark context). */
    @Override
    default void close() {}
}
