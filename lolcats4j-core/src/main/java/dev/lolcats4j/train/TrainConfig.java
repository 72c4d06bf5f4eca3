package dev.lolcats4j.train;

/**
 * Knobs of one training run.
 *
 * @param sequencesPerStep sequences per optimiser step (split into micro-batches of {@code microBatch})
 * @param schedule "plateau" (reduce-on-plateau, the LoLCATs default) or "cosine" (warmup + cosine, for pretraining)
 * @param evalEvery evaluate on held-out data every this many steps (0 = only at the end)
 * @param checkpointEvery write a resumable checkpoint every this many steps (0 = only at the end)
 */
public record TrainConfig(
        int maxSteps,
        double learningRate,
        double weightDecay,
        int sequencesPerStep,
        int microBatch,
        String schedule,
        int warmupSteps,
        double minLearningRate,
        double plateauFactor,
        int plateauPatience,
        double clipNorm,
        int evalEvery,
        int evalBatches,
        int checkpointEvery,
        long seed) {

    /** Stage 1 reference defaults (lolcats-method.md section 5), with a step budget. */
    public static TrainConfig attentionTransfer(int maxSteps) {
        return new TrainConfig(maxSteps, 1e-2, 0, 8, 1, "plateau", 0, 1e-5, 0.1, 10, 0, 100, 8, 100, 42);
    }

    /** Stage 2 reference defaults (lolcats-method.md section 6). */
    public static TrainConfig loraFinetune(int maxSteps) {
        return new TrainConfig(maxSteps, 1e-4, 0, 8, 1, "plateau", 0, 1e-5, 0.1, 10, 0, 100, 8, 100, 42);
    }

    /** Pretraining defaults: AdamW 3e-3, warmup + cosine, clipping at 1. */
    public static TrainConfig pretraining(int maxSteps) {
        return new TrainConfig(maxSteps, 3e-3, 0.1, 16, 4, "cosine", Math.max(1, maxSteps / 20), 3e-4, 0.1, 10, 1.0,
                Math.max(1, maxSteps / 10), 8, Math.max(1, maxSteps / 10), 42);
    }

    public int accumulation() {
        return Math.max(1, sequencesPerStep / Math.max(1, microBatch));
    }
}
