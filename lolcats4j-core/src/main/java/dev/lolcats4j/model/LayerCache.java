package dev.lolcats4j.model;

/** Per-layer state carried across generation steps (a KV cache or a recurrent state). */
public interface LayerCache {

    /** Bytes of tensor memory this cache holds now. */
    long bytes();

    /**
     * Says how many positions this cache will hold at most, before the first one arrives, so
     * that a cache that grows (a KV cache) can allocate once instead of doubling past the end.
     * A hint: more positions still fit. Fixed-size states ignore it.
     */
    default void expectPositions(long positions) {}
}
