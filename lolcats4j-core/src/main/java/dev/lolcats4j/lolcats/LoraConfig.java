package dev.lolcats4j.lolcats;

import java.util.List;

/**
 * LoRA settings: rank r, alpha (scale alpha / r), dropout, and target projections.
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targets) {

    public static final List<String> ALL_TARGETS = List.of("q_proj", "k_proj", "v_proj", "o_proj");

    public LoraConfig {
        targets = List.copyOf(targets);
    }

    public static LoraConfig defaults() {
        return new LoraConfig(8, 16, 0.0, ALL_TARGETS);
    }

    public double scale() {
        return alpha / rank;
    }
}
