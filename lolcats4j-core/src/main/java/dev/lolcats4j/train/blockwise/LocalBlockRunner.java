package dev.lolcats4j.train.blockwise;

import dev.lolcats4j.BadInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs block jobs in this process: one after another, or {@code parallelism} at a time on a
 * thread pool (each block then competes for the same cores and memory).
 */
public final class LocalBlockRunner implements BlockRunner {

    public static final String NAME = "local";

    private final int parallelism;

    public LocalBlockRunner(int parallelism) {
        if (parallelism < 1) {
            throw new BadInputException("--parallel-blocks: expected a positive integer, found " + parallelism);
        }
        this.parallelism = parallelism;
    }

    @Override
    public List<BlockResult> run(List<BlockJobSpec> jobs, BlockProgress progress) {
        if (parallelism == 1) {
            List<BlockResult> results = new ArrayList<>();
            for (BlockJobSpec job : jobs) {
                results.add(runOne(job, progress));
            }
            return results;
        }
        ExecutorService pool = Executors.newFixedThreadPool(parallelism);
        try {
            List<Future<BlockResult>> futures = new ArrayList<>();
            for (BlockJobSpec job : jobs) {
                futures.add(pool.submit(() -> runOne(job, progress)));
            }
            List<BlockResult> results = new ArrayList<>();
            for (Future<BlockResult> f : futures) {
                results.add(f.get());
            }
            return results;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for block jobs", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    private static BlockResult runOne(BlockJobSpec job, BlockProgress progress) {
        progress.onBlockStarted(job);
        BlockResult result = BlockJob.run(job,
                (step, max, train, eval, lr, tokensPerSecond) -> progress.onBlockStep(job, step, max, tokensPerSecond));
        progress.onBlockFinished(job, result);
        return result;
    }

    /** The "local" entry for {@link BlockRunners}. */
    public static final class Provider implements BlockRunnerProvider {

        @Override
        public String name() {
            return NAME;
        }

        @Override
        public void validate(RunnerSettings settings) {
            if (settings.master() != null) {
                throw new BadInputException("--master: only the spark runner takes a master URL (use --runner spark)");
            }
            if (settings.parallelism() < 1) {
                throw new BadInputException("--parallel-blocks: expected a positive integer, found " + settings.parallelism());
            }
        }

        @Override
        public BlockRunner create(RunnerSettings settings) {
            validate(settings);
            return new LocalBlockRunner(settings.parallelism());
        }
    }
}
