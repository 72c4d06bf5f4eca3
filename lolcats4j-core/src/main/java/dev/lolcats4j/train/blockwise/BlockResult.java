package dev.lolcats4j.train.blockwise;

import java.io.Serializable;

/**
 * What one finished block reports (also stored as its done marker, {@code done.json}).
 *
 * @param initialMse mean over the block's converted layers of the attention-output MSE before training
 * @param finalMse the same after training, with the best held-out checkpoint
 * @param steps optimiser steps run (over all attempts)
 * @param trainTokens tokens seen in training
 * @param seconds wall time of the attempt that finished the block
 * @param reused true when the block was already done and nothing was recomputed
 */
public record BlockResult(
        int blockIndex,
        int firstLayer,
        int endLayer,
        double initialMse,
        double finalMse,
        int steps,
        long trainTokens,
        double seconds,
        boolean reused) implements Serializable {}
