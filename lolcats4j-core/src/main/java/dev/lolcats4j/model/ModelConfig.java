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
        int maxPositionEmbeddings) {

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
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
