package dev.lolcats4j.lolcats;

import java.util.List;

/**
 * lolcats_config.json: how each layer's attention is converted.
 *
 * @param softmaxLayers layers left as softmax attention
 * @param lora null when the adapter has no LoRA weights
 */
public record AdapterConfig(
        AttentionKind attention,
        FeatureMapKind featureMap,
        int featureDim,
        int windowSize,
        boolean affineAttentionFactors,
        boolean featureMapBias,
        List<Integer> softmaxLayers,
        LoraConfig lora) {

    public static final String FORMAT = "lolcats4j-adapter/1";

    public AdapterConfig {
        softmaxLayers = List.copyOf(softmaxLayers);
    }

    /** The reference defaults: hybrid_sw, softmax_dim, F = 64, W = 64, no LoRA. */
    public static AdapterConfig defaults() {
        return new AdapterConfig(AttentionKind.HYBRID_SW, FeatureMapKind.SOFTMAX_DIM, 64, 64, false, false, List.of(), null);
    }

    public AdapterConfig withLora(LoraConfig lora) {
        return new AdapterConfig(attention, featureMap, featureDim, windowSize, affineAttentionFactors, featureMapBias,
                softmaxLayers, lora);
    }

    public boolean converts(int layer) {
        return !softmaxLayers.contains(layer);
    }
}
