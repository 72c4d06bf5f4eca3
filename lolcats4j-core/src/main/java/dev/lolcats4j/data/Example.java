package dev.lolcats4j.data;

/**
 * One tokenized training document.
 *
 * @param tokens token ids
 * @param trainOn per token: true when the model should learn to predict it (false for
 *     instruction prompts, whose loss is masked)
 */
public record Example(int[] tokens, boolean[] trainOn) {}
