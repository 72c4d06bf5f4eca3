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
 *
 * <p>Long-lived processes (a server) {@link #close} a model to release its native memory, and
 * {@link #pinDecodePath} it so that its decode path no longer follows process-wide switches.
 */
public final class DecoderModel implements AutoCloseable {

    private final ModelConfig config;
    private ComputeType computeType;
    private final Tensor embeddings; // [V, D] compute dtype
    private final List<DecoderLayer> layers;
    private final Tensor finalNorm;  // [D] float32
    private final Projection lmHead;
    private final Rope rope;
    private final VectorDecoder vectorDecoder = new VectorDecoder(this);
    private volatile DecodePath pinnedPath;
    private volatile boolean closed;

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
        checkOpen();
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
        checkOpen();
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
        return caches != null && ids.dim() == 2 && ids.size(1) == 1 && kernelsApply();
    }

    private boolean kernelsApply() {
        DecodePath pinned = pinnedPath;
        if (pinned == null) {
            return vectorDecoder.applies(); // follows the process-wide switch and warm-up
        }
        return pinned == DecodePath.KERNELS && !org.bytedeco.pytorch.GradMode.is_enabled();
    }

    /**
     * Chooses this model's decode path once and keeps it, whatever process-wide switches
     * ({@link dev.lolcats4j.kernels.VectorKernels#setEnabled}) do later: the Java kernels if
     * they can run in this JVM and read every weight (this call then waits for their warm-up,
     * 0.5-0.9 s once per process), else libtorch. Later calls return the first choice.
     */
    public synchronized DecodePath pinDecodePath() {
        if (pinnedPath == null) {
            checkOpen();
            boolean kernels = dev.lolcats4j.kernels.VectorKernels.enabled() && vectorDecoder.weightsReadable();
            if (kernels) {
                dev.lolcats4j.kernels.WarmUp.awaitReady();
                kernels = dev.lolcats4j.kernels.WarmUp.ready();
            }
            pinnedPath = kernels ? DecodePath.KERNELS : DecodePath.LIBTORCH;
        }
        return pinnedPath;
    }

    /** The pinned decode path, or null while the model follows the process-wide switch. */
    public DecodePath decodePath() {
        return pinnedPath;
    }

    /**
     * One decode step for independent sequences: sequence b feeds {@code tokens[b]} at
     * {@code positions[b]} (its cached length) into its own caches ({@code caches.get(b)}, one
     * per layer, from {@link #newCaches}, already prefilled). Sequences may have any lengths;
     * which ones step together may change from one call to the next (continuous batching).
     * On the kernels' path the dense work is batched (every weight read once per step); on
     * libtorch's, the sequences step one after another.
     *
     * @return next-token logits, one float32 row of vocab_size per sequence
     */
    public float[][] decodeSequences(long[] tokens, long[] positions, List<List<LayerCache>> caches) {
        checkOpen();
        int batch = tokens.length;
        if (positions.length != batch || caches.size() != batch) {
            throw new IllegalArgumentException("tokens, positions and caches: expected one per sequence, found "
                    + batch + ", " + positions.length + ", " + caches.size());
        }
        int vocab = config.vocabSize();
        float[][] rows = new float[batch][];
        if (batch == 0) {
            return rows;
        }
        if (kernelsApply()) {
            float[] logits = vectorDecoder.sequenceLogits(tokens, positions, caches);
            for (int b = 0; b < batch; b++) {
                rows[b] = java.util.Arrays.copyOfRange(logits, b * vocab, (b + 1) * vocab);
            }
            return rows;
        }
        try (org.bytedeco.pytorch.NoGradGuard noGrad = new org.bytedeco.pytorch.NoGradGuard()) {
            for (int b = 0; b < batch; b++) {
                try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
                    Tensor logits = lastLogits(Tensors.ofLongs(new long[] {tokens[b]}, 1, 1), Tensors.ofLongs(new long[] {positions[b]}, 1, 1),
                            new AttentionContext(null, positions[b]), caches.get(b));
                    rows[b] = Tensors.toFloats(logits.select(0, 0));
                }
            }
        }
        return rows;
    }

    /**
     * Releases the model's native memory (weights, adapters, the kernels' views). Idempotent;
     * every later forward or decode call throws {@link IllegalStateException}. Caches made by
     * {@link #newCaches} hold their own memory and are released by the garbage collector.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        vectorDecoder.clear();
        java.util.Set<Tensor> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Tensor t : namedWeights().values()) {
            seen.add(t);
        }
        for (DecoderLayer layer : layers) {
            for (String name : new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}) {
                Lora lora = layer.projection(name).lora();
                if (lora != null) {
                    seen.add(lora.a());
                    seen.add(lora.b());
                }
            }
            seen.addAll(layer.attention().tensors());
        }
        seen.add(lmHead.weight());
        for (Tensor t : seen) {
            if (t != null && !t.isNull()) {
                t.deallocate();
            }
        }
    }

    /** True once {@link #close} ran. */
    public boolean isClosed() {
        return closed;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("model closed");
        }
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
        checkOpen();
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
