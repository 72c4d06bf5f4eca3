package dev.lolcats4j.train;

/** Hears about a training run's progress (the CLI draws a progress line from it). */
public interface TrainListener {

    /** After each optimiser step. {@code evalLoss} is NaN when no evaluation ran at this step. */
    void onStep(int step, int maxSteps, double trainLoss, double evalLoss, double learningRate, double tokensPerSecond);

    default void onMessage(String message) {}

    TrainListener SILENT = (step, max, train, eval, lr, tps) -> { };
}
