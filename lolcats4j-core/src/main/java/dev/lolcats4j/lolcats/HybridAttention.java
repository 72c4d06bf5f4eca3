package dev.lolcats4j.lolcats;

import dev.lolcats4j.model.Attention;
import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.Heads;
import dev.lolcats4j.model.LayerCache;
import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * LoLCATs attention for one layer: sliding-window softmax plus feature-map linear attention
 * (or pure linear). Without a cache it runs the chunked parallel form; with a
 * {@link HybridState} it prefills the state, then decodes recurrently in O(1) per token.
 */
public final class HybridAttention implements Attention {

    private final HybridParams params;
    private final int group;
    private final int sparseCache;
    private final BlockProducts products;

    public HybridAttention(HybridParams params, int group) {
        this(params, group, 0);
    }

    public HybridAttention(HybridParams params, int group, int sparseCache) {
        this(params, group, sparseCache, BlockProducts.INPUT);
    }

    /**
     * @param sparseCache C, the key-value pairs per key/value head kept in softmax after they
     *     leave the window (0: plain LoLCATs; docs/sparse-cache.md); needs hybrid_sw attention
     * @param products the dtype of the chunked form's block products (training picks
     *     {@link BlockProducts#BF16} when its matmuls are bf16)
     */
    public HybridAttention(HybridParams params, int group, int sparseCache, BlockProducts products) {
        if (sparseCache < 0 || sparseCache > 0 && params.kind() != AttentionKind.HYBRID_SW) {
            throw new IllegalArgumentException("a sparse cache needs hybrid_sw attention and C >= 0, found "
                    + params.kind() + " with C = " + sparseCache);
        }
        this.params = params;
        this.group = group;
        this.sparseCache = sparseCache;
        this.products = java.util.Objects.requireNonNull(products, "products");
    }

    public HybridParams params() {
        return params;
    }

    /** C, the sparse cache's pairs per key/value head (0 without one). */
    public int sparseCache() {
        return sparseCache;
    }

    /** The same attention (same parameter tensors) with another sparse cache size. */
    public HybridAttention withSparseCache(int cacheSize) {
        return new HybridAttention(params, group, cacheSize, products);
    }

    /** The dtype of the chunked form's block products. */
    public BlockProducts blockProducts() {
        return products;
    }

    /** The same attention (same parameter tensors) with its block products in another dtype. */
    public HybridAttention withBlockProducts(BlockProducts blockProducts) {
        return new HybridAttention(params, group, sparseCache, blockProducts);
    }

    @Override
    public Tensor forward(Tensor q, Tensor k, Tensor v, AttentionContext context, LayerCache cache) {
        HybridState state = (HybridState) cache;
        if (state == null || state.isEmpty()) {
            if (sparseCache > 0) {
                SparseCacheKernels.Prefill prefill = SparseCacheKernels.prefill(params, sparseCache, group, q, k, v,
                        context.keyValid(), state != null);
                if (state != null) {
                    state.prefill(params, k, v, context.keyValid(), prefill);
                }
                return prefill.output();
            }
            Tensor y = HybridKernels.chunked(params, q, Heads.expand(k, group), Heads.expand(v, group), context.keyValid(),
                    products);
            if (state != null) {
                state.prefill(params, k, v, context.keyValid());
            }
            return y;
        }
        long n = q.size(2);
        if (n > 1 && context.keyValid() == null) {
            // A chunk after a prefill: the parallel form from the state, where it applies.
            Tensor y = state.continueWith(params, q, k, v);
            if (y != null) {
                return y;
            }
        }
        Tensor[] outputs = new Tensor[(int) n];
        for (int t = 0; t < n; t++) {
            outputs[t] = state.step(params, q.narrow(2, t, 1), k.narrow(2, t, 1), v.narrow(2, t, 1));
        }
        return n == 1 ? outputs[0] : Tensors.cat(2, outputs);
    }

    @Override
    public java.util.List<Tensor> tensors() {
        java.util.List<Tensor> out = new java.util.ArrayList<>();
        for (Tensor t : new Tensor[] {params.featureQ().weight(), params.featureQ().bias(), params.featureK().weight(),
                params.featureK().bias(), params.windowFactors()}) {
            if (t != null) {
                out.add(t);
            }
        }
        return out;
    }

    /** The recurrent step in Java over the state's buffers (see {@link HybridState#decodeStep}). */
    @Override
    public boolean decodeStep(DecodeShape shape, float[] q, float[] k, float[] v, AttentionContext context, LayerCache cache,
            float[] out) {
        return cache instanceof HybridState state && state.decodeStep(params, shape, q, k, v, out);
    }

    /**
     * Decoding keeps the last W keys in softmax for the sliding window; for the terrace the
     * newest token's window is its own block plus the previous one, i.e. the last 2W keys.
     */
    @Override
    public LayerCache newCache() {
        int capacity = switch (params.kind()) {
            case HYBRID_SW -> params.window();
            case HYBRID_TK -> 2 * params.window();
            case LINEAR -> 0;
        };
        return new HybridState(capacity, group, sparseCache);
    }
}
