package dev.lolcats4j.lolcats;

import java.util.List;

/**
 * lolcats_config.json: how each layer's attention is converted.
 *
 * @param softmaxLayers layers left as softmax attention
 * @param lora null when the adapter has no LoRA weights
 * @param sparseCache C, key-value pairs per key/value head kept in softmax after they leave the
 *     window (0: none; hybrid_sw only; an inference-time option, docs/sparse-cache.md)
 */
public record AdapterConfig(
        AttentionKind attention,
        FeatureMapKind featureMap,
        int featureDim,
        int windowSize,
        boolean affineAttentionFactors,
        boolean featureMapBias,
        List<Integer> softmaxLayers,
        LoraConfig lora,
        int sparseCache) {

    public static final String FORMAT = "lolcats4j-adapter/1";

    public AdapterConfig {
        softmaxLayers = List.copyOf(softmaxLayers);
        if (sparseCache < 0 || sparseCache > 0 && attention != AttentionKind.HYBRID_SW) {
            throw new IllegalArgumentException("sparse_cache needs hybrid_sw attention and C >= 0, found "
                    + attention + " with C = " + sparseCache);
        }
    }

    /** Without a sparse cache. */
    public AdapterConfig(AttentionKind attention, FeatureMapKind featureMap, int featureDim, int windowSize,
            boolean affineAttentionFactors, boolean featureMapBias, List<Integer> softmaxLayers, LoraConfig lora) {
        this(attention, featureMap, featureDim, windowSize, affineAttentionFactors, featureMapBias, softmaxLayers, lora, 0);
    }

    /** The reference defaults: hybrid_sw, softmax_dim, F = 64, W = 64, no LoRA. */
    public static AdapterConfig defaults() {
        return new AdapterConfig(AttentionKind.HYBRID_SW, FeatureMapKind.SOFTMAX_DIM, 64, 64, false, false, List.of(), null);
    }

    public AdapterConfig withLora(LoraConfig lora) {
        return new AdapterConfig(attention, featureMap, featureDim, windowSize, affineAttentionFactors, featureMapBias,
                softmaxLayers, lora, sparseCache);
    }

    public AdapterConfig withSparseCache(int cacheSize) {
        return new AdapterConfig(attention, featureMap, featureDim, windowSize, affineAttentionFactors, featureMapBias,
                softmaxLayers, lora, cacheSize);
    }

    public boolean converts(int layer) {
        return !softmaxLayers.contains(layer);
    }
}
