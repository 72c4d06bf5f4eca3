package dev.lolcats4j.bench;

import dev.lolcats4j.model.ModelConfig;

/**
 * A model shape for {@code bench train}: a synthetic Llama with random weights of this size.
 *
 * @param sequenceLength tokens per training sequence (and per prefill)
 */
public record ModelShape(ModelConfig config, int sequenceLength) {

    /** The ~1B shape of issue 13: hidden 2048, 16 layers, 32 heads, 8 KV heads, intermediate 8192, vocab 32000. */
    public static ModelShape oneBillion(int sequenceLength) {
        return new ModelShape(ModelConfig.llama(32000, 2048, 8192, 16, 32, 8), sequenceLength);
    }
}
