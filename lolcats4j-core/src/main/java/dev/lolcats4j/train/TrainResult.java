package dev.lolcats4j.train;

/**
 * The outcome of a run: last train loss, best held-out loss and where it was reached.
 */
public record TrainResult(int steps, double lastTrainLoss, double bestEvalLoss, int bestStep, long trainTokens,
        double seconds) {}
