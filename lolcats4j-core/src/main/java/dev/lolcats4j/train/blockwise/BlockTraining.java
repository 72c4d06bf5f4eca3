package dev.lolcats4j.train.blockwise;

import dev.lolcats4j.train.TrainConfig;
import java.io.Serializable;

/**
 * The stage-1 training knobs a block job needs, as plain values so a spec can travel to
 * another JVM. Every block uses the same values; {@link #toTrainConfig()} gives the
 * {@link TrainConfig} that joint stage 1 would use with them.
 *
 * @param attentionXent weight of the attention cross-entropy term (0 = off)
 */
public record BlockTraining(
        int maxSteps,
        double learningRate,
        double weightDecay,
        int sequencesPerStep,
        int microBatch,
        int plateauPatience,
        int evalEvery,
        int evalBatches,
        int checkpointEvery,
        long seed,
        double attentionXent) implements Serializable {

    /** The stage-1 reduce-on-plateau schedule (factor 0.1, floor 1e-5), as joint stage 1 runs it. */
    public TrainConfig toTrainConfig() {
        return new TrainConfig(maxSteps, learningRate, weightDecay, sequencesPerStep, microBatch, "plateau", 0, 1e-5, 0.1,
                plateauPatience, 0, evalEvery, evalBatches, checkpointEvery, seed);
    }

    public static BlockTraining of(TrainConfig config, double attentionXent) {
        return new BlockTraining(config.maxSteps(), config.learningRate(), config.weightDecay(), config.sequencesPerStep(),
                config.microBatch(), config.plateauPatience(), config.evalEvery(), config.evalBatches(),
                config.checkpointEvery(), config.seed(), attentionXent);
    }
}
