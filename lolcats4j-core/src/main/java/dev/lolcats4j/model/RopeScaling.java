package dev.lolcats4j.model;

/**
 * Hugging Face {@code rope_scaling}. {@code type} is "llama3" or "linear"; the other fields
 * are used by llama3 only.
 */
public record RopeScaling(
        String type,
        double factor,
        double lowFreqFactor,
        double highFreqFactor,
        int originalMaxPositionEmbeddings) {}
