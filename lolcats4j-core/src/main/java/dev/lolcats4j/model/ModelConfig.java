package dev.lolcats4j.model;

import java.util.List;

/**
 * The architecture of a Llama-family decoder, as read from a Hugging Face config.json.
 *
 * @param modelType "llama", "mistral" or "qwen2"
 * @param headDim per-head width (config head_dim, else hidden_size / num_attention_heads)
 * @param attentionBias whether q/k/v projections carry a bias (always for qwen2)
 * @param ropeScaling null for plain RoPE
 * @param eosTokenIds every id that ends generation (config may give one or a list)
 * @param slidingWindow softmax attention's window W, or 0 for full attention: a query sees
 *     itself and the W - 1 keys before it (Hugging Face's mask: key > query - W)
 * @param firstSlidingLayer the layers from this index on use the window (0 for Mistral's
 *     sliding_window; Qwen2's max_window_layers); ignored when slidingWindow is 0
 */
public record ModelConfig(
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        boolean oProjBias,
        boolean mlpBias,
        int bosTokenId,
        List<Integer> eosTokenIds,
        int maxPositionEmbeddings,
        int slidingWindow,
        int firstSlidingLayer) {

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        if (slidingWindow < 0 || firstSlidingLayer < 0) {
            throw new IllegalArgumentException("sliding window " + slidingWindow + " from layer " + firstSlidingLayer);
        }
    }

    /** Full attention in every layer. */
    public ModelConfig(String modelType, int vocabSize, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
            int numKvHeads, int headDim, double rmsNormEps, double ropeTheta, RopeScaling ropeScaling, boolean tieWordEmbeddings,
            boolean attentionBias, boolean oProjBias, boolean mlpBias, int bosTokenId, List<Integer> eosTokenIds,
            int maxPositionEmbeddings) {
        this(modelType, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, rmsNormEps, ropeTheta,
                ropeScaling, tieWordEmbeddings, attentionBias, oProjBias, mlpBias, bosTokenId, eosTokenIds, maxPositionEmbeddings,
                0, 0);
    }

    /** Layer {@code layer}'s softmax window W, or 0 when it attends to every earlier token. */
    public int slidingWindow(int layer) {
        return slidingWindow > 0 && layer >= firstSlidingLayer ? slidingWindow : 0;
    }

    /** The same architecture with another max_position_embeddings. */
    public ModelConfig withMaxPositionEmbeddings(int positions) {
        return new ModelConfig(modelType, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                rmsNormEps, ropeTheta, ropeScaling, tieWordEmbeddings, attentionBias, oProjBias, mlpBias, bosTokenId, eosTokenIds,
                positions, slidingWindow, firstSlidingLayer);
    }

    /** Query heads that share one key/value head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /** Parameter count, embeddings included (tied embeddings counted once). */
    public long parameterCount() {
        long attention = (long) hiddenSize * headDim * (2L * numHeads + 2L * numKvHeads);
        long mlp = 3L * hiddenSize * intermediateSize;
        long norms = 2L * hiddenSize;
        long embeddings = (long) vocabSize * hiddenSize * (tieWordEmbeddings ? 1 : 2);
        return numLayers * (attention + mlp + norms) + embeddings + hiddenSize;
    }

    /** A small Llama config for synthetic models (benchmarks, tests). */
    public static ModelConfig llama(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads) {
        return new ModelConfig("llama", vocab, hidden, intermediate, layers, heads, kvHeads, hidden / heads,
                1e-5, 10000.0, null, false, false, false, false, 1, List.of(2), 4096);
    }
}
