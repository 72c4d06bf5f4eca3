package dev.lolcats4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.spark.SharedSpark;
import dev.lolcats4j.train.blockwise.BlockResult;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole block-wise linearize pipeline with {@code --runner spark} in local mode gives the
 * same adapter as with the local runner (tiny model, same seed and data). Lives in the
 * core's train package to reuse its fixtures (lolcats4j-core's test-jar).
 */
class SparkLinearizationTest {

    @Test
    void sparkLocalModeGivesTheLocalRunnersAdapter(@TempDir Path tmp) throws Exception {
        Path model = BlockwiseFixtures.model(tmp.resolve("model"), 11);
        PackedDataset data = BlockwiseFixtures.data(tmp, 200, 32);
        LinearizeOptions local = BlockwiseFixtures.options(model, tmp.resolve("local"), 8, 4, 2, 1, tmp.resolve("cache-local"));
        Linearization.Result byLocal = Linearization.run(local, data, Linearization.Listener.SILENT);

        // The shared test context (local[2,2]) is running, so the spark runner joins it.
        AtomicInteger sparkTasks = new AtomicInteger();
        SparkListener counter = new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd event) {
                sparkTasks.incrementAndGet();
            }
        };
        SharedSpark.context().sc().addSparkListener(counter);
        LinearizeOptions spark = withRunner(BlockwiseFixtures.options(model, tmp.resolve("spark"), 8, 4, 2, 1, tmp.resolve("cache-spark")), "spark");
        Linearization.Result bySpark;
        try {
            bySpark = Linearization.run(spark, data, Linearization.Listener.SILENT);
            Thread.sleep(300); // task-end events reach listeners asynchronously
        } finally {
            SharedSpark.context().sc().removeSparkListener(counter);
        }

        assertEquals(2, bySpark.blocks().size());
        assertTrue(sparkTasks.get() >= 2, "the blocks ran as Spark tasks: " + sparkTasks.get() + " task(s) seen");
        for (int i = 0; i < 2; i++) {
            BlockResult a = byLocal.blocks().get(i);
            BlockResult b = bySpark.blocks().get(i);
            assertTrue(b.finalMse() < b.initialMse(), "block " + i + " trained (else equal adapters prove nothing)");
            assertEquals(a.finalMse(), b.finalMse(), 1e-9 + 1e-6 * a.finalMse(), "block " + i + " final MSE");
            assertEquals(a.steps(), b.steps());
        }
        int tensors = BlockwiseTransferTest.assertSameAdapter(tmp.resolve("local"), tmp.resolve("spark"), 1e-6);
        assertEquals(6, tensors, "feature maps q/k and window factors of both layers");
    }

    private static LinearizeOptions withRunner(LinearizeOptions o, String runner) {
        LinearizeOptions.Blockwise b = o.blockwise();
        return new LinearizeOptions(o.modelDir(), o.computeType(), o.adapterDir(), o.out(), o.stage(), o.resume(), o.conversion(), o.lora(),
                o.transferSteps(), o.transferLr(), o.attentionXent(), o.loraSteps(), o.loraLr(), o.trainFeatureMaps(), o.batch(),
                o.microBatch(), o.weightDecay(), o.evalEvery(), o.evalBatches(), o.patience(), o.checkpointEvery(), o.seed(),
                new LinearizeOptions.Blockwise(b.layersPerBlock(), runner, b.master(), b.cacheDir(), b.parallelism(), b.shardBytes()));
    }
}
