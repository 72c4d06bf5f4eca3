package dev.lolcats4j.model;

import org.bytedeco.pytorch.Tensor;

/**
 * How one layer mixes tokens: softmax attention or a LoLCATs hybrid. Inputs are post-RoPE.
 */
public interface Attention {

    /**
     * @param q [B, H, N, d] float32, after RoPE
     * @param k [B, Hkv, N, d] float32, after RoPE (not yet expanded to H heads)
     * @param v [B, Hkv, N, d] float32
     * @param cache null for a stateless full-sequence forward; else updated in place
     * @return per-head outputs before o_proj, [B, H, N, d] float32
     */
    Tensor forward(Tensor q, Tensor k, Tensor v, AttentionContext context, LayerCache cache);

    /** The tensors this attention owns (its trained parameters), released when the model closes. */
    default java.util.List<Tensor> tensors() {
        return java.util.List.of();
    }

    /** An empty cache for generation. */
    LayerCache newCache();

    /**
     * One decode step on float arrays, for the Java decode path (called only when the Vector
     * API kernels are enabled). Same meaning as {@link #forward} with N = 1: q [B, H, d],
     * k and v [B, Hkv, d], out [B, H, d] written; the cache is updated.
     *
     * @return false if this attention or this cache state cannot (then {@link #forward} runs)
     */
    default boolean decodeStep(DecodeShape shape, float[] q, float[] k, float[] v, AttentionContext context, LayerCache cache,
            float[] out) {
        return false;
    }

    /** Sizes of one {@link #decodeStep}. */
    record DecodeShape(int batch, int heads, int kvHeads, int headDim) {}
}
