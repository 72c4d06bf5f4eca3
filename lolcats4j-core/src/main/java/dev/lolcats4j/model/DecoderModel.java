package dev.lolcats4j.model;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A Llama-family decoder on libtorch: embeddings, decoder layers, final norm and LM head.
 * Each layer's {@link Attention} can be swapped (softmax or LoLCATs hybrid).
 */
public final class DecoderModel {

    private final ModelConfig config;
    private ComputeType computeType;
    private final Tensor embeddings; // [V, D] compute dtype
    private final List<DecoderLayer> layers;
    private final Tensor finalNorm;  // [D] float32
    private final Projection lmHead;
    private final Rope rope;
    private final VectorDecoder vectorDecoder = new VectorDecoder(this);

    DecoderModel(ModelConfig config, ComputeType computeType, Tensor embeddings, List<DecoderLayer> layers,
            Tensor finalNorm, Projection lmHead) {
        this.config = config;
        this.computeType = computeType;
        this.embeddings = embeddings;
        this.layers = List.copyOf(layers);
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.rope = new Rope(config);
    }

    public ModelConfig config() {
        return config;
    }

    /** The dtype the matmuls run in (the weights' own, or that of their matmul copies). */
    public ComputeType computeType() {
        return computeType;
    }

    public List<DecoderLayer> layers() {
        return layers;
    }

    public Rope rope() {
        return rope;
    }

    public Projection lmHead() {
        return lmHead;
    }

    public Tensor embeddingWeight() {
        return embeddings;
    }

    public Tensor finalNorm() {
        return finalNorm;
    }

    /** Token embeddings, float32 [B, N, D]. Rejects ids outside the vocabulary. */
    public Tensor embed(Tensor ids) {
        checkIds(ids);
        return torch.embedding(embeddings, ids).to(Tensors.F32);
    }

    /** Final norm and LM head: float32 logits [B, N, V]. */
    public Tensor logits(Tensor hidden) {
        return lmHead.apply(DecoderLayer.rmsNorm(hidden, finalNorm, config.rmsNormEps()));
    }

    /**
     * Full forward.
     *
     * @param ids [B, N] int64
     * @param positions [B, N] int64 RoPE positions
     * @param caches one per layer for generation, or null
     * @return float32 logits [B, N, V]; a decode step (N = 1, with caches, no gradients) runs
     *     through the Java Vector API kernels when they are available
     */
    public Tensor forward(Tensor ids, Tensor positions, AttentionContext context, List<LayerCache> caches) {
        if (isDecodeStep(ids, caches)) {
            return vectorDecoder.lastLogits(ids, positions, context, caches).unsqueeze(1);
        }
        return logits(hidden(ids, positions, context, caches));
    }

    /** Hidden states after the last layer, before the final norm: float32 [B, N, D]. */
    public Tensor hidden(Tensor ids, Tensor positions, AttentionContext context, List<LayerCache> caches) {
        Tensor[] cosSin = rope.cosSin(positions);
        Tensor x = embed(ids);
        for (int i = 0; i < layers.size(); i++) {
            // Each layer's temporaries are freed when it is done (autograd keeps what backward needs).
            org.bytedeco.javacpp.PointerScope outer = org.bytedeco.javacpp.PointerScope.getInnerScope();
            try (org.bytedeco.javacpp.PointerScope layerScope = new org.bytedeco.javacpp.PointerScope()) {
                x = Tensors.handOver(layers.get(i).forward(x, cosSin, context, caches == null ? null : caches.get(i)), outer);
            }
        }
        return x;
    }

    /**
     * Logits of the last position only, [B, V]: what generation needs after a prefill. A
     * decode step (one token per sequence, with caches, no gradients) runs through the Java
     * Vector API kernels when they are available (see {@link dev.lolcats4j.kernels.VectorKernels}).
     */
    public Tensor lastLogits(Tensor ids, Tensor positions, AttentionContext context, List<LayerCache> caches) {
        if (isDecodeStep(ids, caches)) {
            return vectorDecoder.lastLogits(ids, positions, context, caches);
        }
        Tensor x = hidden(ids, positions, context, caches);
        return logits(x.narrow(1, x.size(1) - 1, 1)).squeeze(1);
    }

    /** True if a decode step of this model runs through the Java kernels now (else libtorch). */
    public boolean decodesWithKernels() {
        return vectorDecoder.applies();
    }

    /** One new token per sequence from caches, and the Java decode step can take this model. */
    private boolean isDecodeStep(Tensor ids, List<LayerCache> caches) {
        return caches != null && ids.dim() == 2 && ids.size(1) == 1 && vectorDecoder.applies();
    }

    /** Forward of one unpadded batch starting at position 0. */
    public Tensor forward(Tensor ids) {
        long b = ids.size(0);
        long n = ids.size(1);
        Tensor positions = Tensors.arange(n).unsqueeze(0).expand(b, n).contiguous();
        return forward(ids, positions, AttentionContext.unpadded(), null);
    }

    /**
     * Every base weight under its Hugging Face name (the tied LM head is not repeated).
     * These are the live tensors: pretraining trains them in place.
     */
    public java.util.Map<String, Tensor> namedWeights() {
        java.util.Map<String, Tensor> out = new java.util.LinkedHashMap<>();
        out.put("model.embed_tokens.weight", embeddings);
        for (int i = 0; i < layers.size(); i++) {
            DecoderLayer layer = layers.get(i);
            String p = "model.layers." + i + ".";
            out.put(p + "input_layernorm.weight", layer.inputNorm);
            out.put(p + "post_attention_layernorm.weight", layer.postNorm);
            for (String name : new String[] {"q_proj", "k_proj", "v_proj", "o_proj"}) {
                Projection proj = layer.projection(name);
                out.put(p + "self_attn." + name + ".weight", proj.weight());
                if (proj.bias() != null) {
                    out.put(p + "self_attn." + name + ".bias", proj.bias());
                }
            }
            for (String name : new String[] {"gate_proj", "up_proj", "down_proj"}) {
                Projection proj = layer.projection(name);
                out.put(p + "mlp." + name + ".weight", proj.weight());
                if (proj.bias() != null) {
                    out.put(p + "mlp." + name + ".bias", proj.bias());
                }
            }
        }
        out.put("model.norm.weight", finalNorm);
        if (lmHead.weight() != embeddings) {
            out.put("lm_head.weight", lmHead.weight());
        }
        return out;
    }

    /** Sets the matmul dtype of every projection (see {@link Projection#setMatmulType}). */
    public void setMatmulType(org.bytedeco.pytorch.global.torch.ScalarType type) {
        for (DecoderLayer layer : layers) {
            for (String name : new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}) {
                layer.projection(name).setMatmulType(type);
            }
        }
        lmHead.setMatmulType(type);
    }

    /**
     * Runs every projection's matmul (and the LM head's) on a copy of its frozen weight
     * converted once to {@code type}, the stored weights staying as they are for the decode
     * kernels (see {@link Projection#holdMatmulCopy}).
     */
    public void holdMatmulCopies(ComputeType type) {
        for (DecoderLayer layer : layers) {
            for (String name : new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}) {
                layer.projection(name).holdMatmulCopy(type.scalarType());
            }
            if (layer.attention() instanceof SoftmaxAttention) {
                layer.setAttention(layer.softmaxAttention()); // its SDPA dtype follows the matmuls
            }
        }
        lmHead.holdMatmulCopy(type.scalarType());
        this.computeType = type;
    }

    /** Fresh per-layer caches for generation. */
    public List<LayerCache> newCaches() {
        List<LayerCache> caches = new ArrayList<>();
        for (DecoderLayer layer : layers) {
            caches.add(layer.attention().newCache());
        }
        return caches;
    }

    private void checkIds(Tensor ids) {
        if (ids.numel() == 0) {
            return;
        }
        long max = ids.max().item_long();
        long min = ids.min().item_long();
        if (max >= config.vocabSize() || min < 0) {
            long bad = max >= config.vocabSize() ? max : min;
            throw new BadInputException("token id " + bad + ": expected 0 <= id < vocab_size (" + config.vocabSize() + ")");
        }
    }
}
