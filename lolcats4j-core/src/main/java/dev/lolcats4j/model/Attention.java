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

    /** An empty cache for generation. */
    LayerCache newCache();
}
