package dev.lolcats4j.spark;

import dev.lolcats4j.train.blockwise.BlockJobSpec;
import dev.lolcats4j.train.blockwise.BlockProgress;
import dev.lolcats4j.train.blockwise.BlockResult;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.Success$;
import org.apache.spark.TaskFailedReason;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Turns Spark's task events for one block-wise run (its job group) into {@link BlockProgress}
 * calls on the driver: a block starts when its first attempt starts; failed attempts and
 * retries become messages; a block finishes when its task's result arrives.
 */
final class TaskProgressListener extends SparkListener {

    private final String jobGroup;
    private final List<BlockJobSpec> jobs;
    private final BlockProgress progress;
    private final Set<Integer> stages = ConcurrentHashMap.newKeySet();

    TaskProgressListener(String jobGroup, List<BlockJobSpec> jobs, BlockProgress progress) {
        this.jobGroup = jobGroup;
        this.jobs = jobs;
        this.progress = progress;
    }

    @Override
    public void onJobStart(SparkListenerJobStart event) {
        if (event.properties() != null && jobGroup.equals(event.properties().getProperty("spark.jobGroup.id"))) {
            for (Object stage : CollectionConverters.asJava(event.stageIds())) {
                stages.add((Integer) stage);
            }
        }
    }

    @Override
    public void onTaskStart(SparkListenerTaskStart event) {
        int index = event.taskInfo().index();
        if (!stages.contains(event.stageId()) || index >= jobs.size()) {
            return;
        }
        int attempt = event.taskInfo().attemptNumber();
        if (attempt == 0) {
            progress.onBlockStarted(jobs.get(index));
        } else {
            progress.onMessage(jobs.get(index).label() + ": attempt " + (attempt + 1) + " on executor " + event.taskInfo().executorId());
        }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd event) {
        int index = event.taskInfo().index();
        if (!stages.contains(event.stageId()) || index >= jobs.size() || event.reason() == Success$.MODULE$) {
            return;
        }
        String why = event.reason() instanceof TaskFailedReason failed
                ? failed.toErrorString().lines().findFirst().orElse("") : String.valueOf(event.reason());
        progress.onMessage(jobs.get(index).label() + ": attempt " + (event.taskInfo().attemptNumber() + 1) + " failed: " + why);
    }

    /** Called on the driver when block {@code index}'s result arrives. */
    void finished(int index, BlockResult result) {
        progress.onBlockFinished(jobs.get(index), result);
    }
}
