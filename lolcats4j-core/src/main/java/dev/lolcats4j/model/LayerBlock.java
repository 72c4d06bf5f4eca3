package dev.lolcats4j.model;

import java.util.List;

/**
 * Consecutive decoder layers loaded on their own ({@link ModelLoader#loadLayers}): what a
 * block-wise job holds instead of the whole model.
 *
 * @param firstLayer the model-wide index of {@code layers.get(0)}
 */
public record LayerBlock(ModelConfig config, int firstLayer, List<DecoderLayer> layers, Rope rope) {

    public LayerBlock {
        layers = List.copyOf(layers);
    }

    public int endLayer() {
        return firstLayer + layers.size();
    }
}
