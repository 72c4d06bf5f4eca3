package dev.lolcats4j.generate;

/**
 * How to pick the next token.
 *
 * @param temperature 0 means greedy (argmax)
 * @param topP nucleus mass in (0, 1]; 1 disables it
 * @param seed random seed for sampling
 * @param maxNewTokens upper bound on generated tokens
 */
public record SamplingConfig(double temperature, double topP, long seed, int maxNewTokens) {

    public static SamplingConfig greedy(int maxNewTokens) {
        return new SamplingConfig(0, 1, 0, maxNewTokens);
    }
}
