package dev.lolcats4j.train.blockwise;

import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.train.Linearization;
import dev.lolcats4j.train.TrainConfig;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Progress of a whole block-wise run for the user: blocks done of total, training tokens per
 * second and an ETA, reported as one line at most every {@link #INTERVAL_NANOS} (and at every
 * finished block) to the listener's {@link BlockProgress#onMessage}. Blocks found already done
 * count as done but not toward the speed.
 */
final class RunProgress implements BlockProgress {

    static final long INTERVAL_NANOS = 2_000_000_000L;

    private final BlockProgress downstream;
    private final int total;
    private final long tokensPerBlock;
    private final long started = System.nanoTime();
    private final Map<Integer, Long> tokensInFlight = new ConcurrentHashMap<>();
    private int done;
    private int toTrain;
    private long trainedTokens;
    private long lastReport;

    RunProgress(List<BlockJobSpec> jobs, TrainConfig config, PackedDataset data, BlockProgress downstream) {
        this.downstream = downstream;
        this.total = jobs.size();
        this.toTrain = (int) jobs.stream().filter(j -> !BlockJob.isDone(j)).count();
        this.tokensPerBlock = (long) config.maxSteps() * config.sequencesPerStep() * (data.train().get(0).tokens().length - 1);
    }

    @Override
    public void onBlockStarted(BlockJobSpec job) {
        downstream.onBlockStarted(job);
    }

    @Override
    public void onBlockStep(BlockJobSpec job, int step, int maxSteps, double tokensPerSecond) {
        tokensInFlight.put(job.blockIndex(), tokensPerBlock * step / Math.max(1, maxSteps));
        downstream.onBlockStep(job, step, maxSteps, tokensPerSecond);
        report(false);
    }

    @Override
    public synchronized void onBlockFinished(BlockJobSpec job, BlockResult result) {
        done++;
        tokensInFlight.remove(job.blockIndex());
        if (!result.reused()) {
            trainedTokens += result.trainTokens();
        }
        downstream.onBlockFinished(job, result);
        downstream.onMessage(String.format(Locale.ROOT, "[stage 1] %s %s: MSE %.3g -> %.3g, %d steps, %s",
                job.label(), result.reused() ? "already done" : "done", result.initialMse(), result.finalMse(), result.steps(),
                Linearization.duration(result.seconds())));
        report(true);
    }

    @Override
    public void onMessage(String message) {
        downstream.onMessage(message);
    }

    private synchronized void report(boolean force) {
        long now = System.nanoTime();
        if (!force && now - lastReport < INTERVAL_NANOS) {
            return;
        }
        lastReport = now;
        double seconds = (now - started) / 1e9;
        long tokens = trainedTokens + tokensInFlight.values().stream().mapToLong(Long::longValue).sum();
        double rate = tokens / Math.max(seconds, 1e-9);
        long remaining = Math.max(0, (long) toTrain * tokensPerBlock - tokens);
        String eta = rate > 0 ? Linearization.duration(remaining / rate) : "-";
        downstream.onMessage(String.format(Locale.ROOT, "[stage 1] blocks %d/%d done, %,.0f tok/s, ETA %s", done, total, rate, eta));
    }
}
