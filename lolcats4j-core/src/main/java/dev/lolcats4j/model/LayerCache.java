package dev.lolcats4j.model;

/** Per-layer state carried across generation steps (a KV cache or a recurrent state). */
public interface LayerCache {

    /** Bytes of tensor memory this cache holds now. */
    long bytes();
}
