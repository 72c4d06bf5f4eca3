package dev.lolcats4j.train.blockwise;

/**
 * Hears about a block-wise run. Runners call these from any thread (a Spark runner from the
 * driver as task results arrive), so implementations must be thread-safe.
 */
public interface BlockProgress {

    default void onBlockStarted(BlockJobSpec job) {}

    /** Called once per block, including blocks found already done ({@link BlockResult#reused()}). */
    void onBlockFinished(BlockJobSpec job, BlockResult result);

    /**
     * After each optimiser step of a block, when the runner can report it (the local runner
     * does; a distributed runner may not).
     */
    default void onBlockStep(BlockJobSpec job, int step, int maxSteps, double tokensPerSecond) {}

    default void onMessage(String message) {}

    BlockProgress SILENT = (job, result) -> { };
}
