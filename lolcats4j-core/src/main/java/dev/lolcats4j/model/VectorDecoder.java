package dev.lolcats4j.model;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.kernels.Activations;
import dev.lolcats4j.kernels.MatVecPass;
import dev.lolcats4j.kernels.MatrixView;
import dev.lolcats4j.kernels.VectorKernels;
import dev.lolcats4j.kernels.WarmUp;
import dev.lolcats4j.kernels.WeightPacker;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.Tensor;

/**
 * One decode step (one new token per sequence) with the dense work in Java: the projections
 * run as Vector API matrix-vector kernels over the weights in place, and norms, RoPE, SwiGLU
 * and residuals on float arrays.
 *
 * <p>Why: a decode step reads every weight once, so it is bound by memory bandwidth, but
 * libtorch's matrix-vector path streams these 1-5 MB matrices at about half the rate the
 * kernels reach, and the ~600 small libtorch calls of a step cost ~6 us each. Attention runs
 * its own {@link Attention#decodeStep} in Java where it has one (softmax over the KV cache,
 * the LoLCATs recurrent step), else its libtorch forward. Activations stay float32 here (the
 * libtorch path rounds them to bf16 before each bf16 matmul), so the two paths agree to bf16
 * rounding, and to float32 rounding with float32 weights.
 */
final class VectorDecoder {

    private final DecoderModel model;
    private final Map<Tensor, MatrixView> views = new IdentityHashMap<>();
    private boolean packed;
    private Boolean embeddingsReadable;

    VectorDecoder(DecoderModel model) {
        this.model = model;
    }

    /**
     * True if this step can run here: kernels on, no gradients recorded, every weight a
     * contiguous bf16 or float32 tensor used in its own dtype.
     */
    boolean applies() {
        if (!VectorKernels.enabled() || GradMode.is_enabled() || !WarmUp.ready()) {
            return false; // until the kernels are compiled (WarmUp.awaitReady), libtorch is faster
        }
        return weightsReadable();
    }

    /** Every weight a step reads is a contiguous bf16 or float32 tensor used in its own dtype. */
    boolean weightsReadable() {
        if (!model.lmHead().kernelReadable()) {
            return false;
        }
        if (embeddingsReadable == null) {
            embeddingsReadable = MatrixView.supports(model.embeddingWeight());
        }
        if (!embeddingsReadable) {
            return false;
        }
        for (DecoderLayer layer : model.layers()) {
            for (Projection p : new Projection[] {layer.q, layer.k, layer.v, layer.o, layer.gate, layer.up, layer.down}) {
                if (!p.kernelReadable()) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Logits [B, V] float32 for ids [B, 1] at positions [B, 1]; caches are updated. */
    synchronized Tensor lastLogits(Tensor ids, Tensor positions, AttentionContext context, List<LayerCache> caches) {
        int batch = Math.toIntExact(ids.size(0));
        float[] logits = inStep(() -> step(Tensors.toLongs(ids), Tensors.toLongs(positions), (layer, index, shape, q, k, v, out) ->
                attend(layer, shape, q, k, v, context, caches.get(index), out)));
        return Tensors.ofFloats(logits, batch, model.config().vocabSize());
    }

    /**
     * One step for independent sequences, each with its own caches (one list per sequence,
     * one cache per layer) and its own length: the dense work runs batched (each weight is
     * read once for all of them), attention runs per sequence over its own cache. This is
     * what continuous batching needs: sequences join and leave between steps.
     *
     * @return logits [B * V], row-major
     */
    synchronized float[] sequenceLogits(long[] tokens, long[] positions, List<List<LayerCache>> caches) {
        int d = model.config().headDim();
        return inStep(() -> step(tokens, positions, (layer, index, shape, q, k, v, out) -> {
            Attention.DecodeShape one = new Attention.DecodeShape(1, shape.heads(), shape.kvHeads(), d);
            int qWidth = shape.heads() * d;
            int kvWidth = shape.kvHeads() * d;
            for (int b = 0; b < shape.batch(); b++) {
                float[] qb = java.util.Arrays.copyOfRange(q, b * qWidth, (b + 1) * qWidth);
                float[] kb = java.util.Arrays.copyOfRange(k, b * kvWidth, (b + 1) * kvWidth);
                float[] vb = java.util.Arrays.copyOfRange(v, b * kvWidth, (b + 1) * kvWidth);
                float[] ob = new float[qWidth];
                // Each sequence's past is its position: no padding inside a sequence's own cache.
                attend(layer, one, qb, kb, vb, new AttentionContext(null, positions[b]), caches.get(b).get(index), ob);
                System.arraycopy(ob, 0, out, b * qWidth, qWidth);
            }
        }));
    }

    /** Runs one step with the weights packed and libtorch on one thread. */
    private float[] inStep(java.util.function.Supplier<float[]> step) {
        if (!packed) {
            // Once per model, unless the loader already did: the weights move into huge pages
            // (in place, shared with libtorch).
            packed = true;
            WeightPacker.pack(decodeWeights(model));
        }
        // The libtorch calls left in a step (attention) are small; on one thread they leave the
        // other cores to the kernels' workers instead of OpenMP threads spinning on them.
        TorchThreads.enterSingle();
        try {
            return step.get();
        } finally {
            TorchThreads.exitSingle();
        }
    }

    /** How one layer's attention runs for the step's batch: q [B, H, d], k and v [B, Hkv, d], out [B, H, d]. */
    private interface AttentionStep {
        void run(DecoderLayer layer, int layerIndex, Attention.DecodeShape shape, float[] q, float[] k, float[] v, float[] out);
    }

    /** The attention's Java step, else its libtorch forward with one token. */
    private static void attend(DecoderLayer layer, Attention.DecodeShape shape, float[] q, float[] k, float[] v,
            AttentionContext context, LayerCache cache, float[] out) {
        if (!layer.attention().decodeStep(shape, q, k, v, context, cache, out)) {
            int batch = shape.batch();
            int d = shape.headDim();
            // With one token, [B, H*d] is already the [B, H, 1, d] layout attention takes and gives.
            try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
                Tensor y = layer.attention().forward(Tensors.ofFloats(q, batch, shape.heads(), 1, d),
                        Tensors.ofFloats(k, batch, shape.kvHeads(), 1, d), Tensors.ofFloats(v, batch, shape.kvHeads(), 1, d), context, cache);
                y.contiguous().data_ptr_float().get(out);
            }
        }
    }

    private float[] step(long[] tokens, long[] at, AttentionStep attention) {
        ModelConfig config = model.config();
        int batch = tokens.length;
        int hidden = config.hiddenSize();
        MatrixView embeddings = view(model.embeddingWeight());
        float[] x = new float[batch * hidden];
        for (int b = 0; b < batch; b++) {
            if (tokens[b] < 0 || tokens[b] >= config.vocabSize()) {
                throw new BadInputException("token id " + tokens[b] + ": expected 0 <= id < vocab_size (" + config.vocabSize() + ")");
            }
            embeddings.copyRow((int) tokens[b], x, b * hidden);
        }
        int half = config.headDim() / 2;
        float[] cos = new float[batch * half];
        float[] sin = new float[batch * half];
        for (int b = 0; b < batch; b++) {
            model.rope().cosSin(at[b], cos, sin, b * half);
        }
        for (int i = 0; i < model.layers().size(); i++) {
            layer(model.layers().get(i), i, x, batch, cos, sin, attention);
        }
        float[] normed = rmsNorm(x, view(model.finalNorm()), batch, config.rmsNormEps());
        return project(model.lmHead(), normed, batch);
    }

    /** One decoder block on the residual stream x [B, D], in place. */
    private void layer(DecoderLayer layer, int index, float[] x, int batch, float[] cos, float[] sin, AttentionStep attention) {
        ModelConfig config = model.config();
        int heads = config.numHeads();
        int kvHeads = config.numKvHeads();
        int d = config.headDim();
        int half = d / 2;
        float[] h = rmsNorm(x, view(layer.inputNorm), batch, config.rmsNormEps());
        float[] q = new float[batch * heads * d];
        float[] k = new float[batch * kvHeads * d];
        float[] v = new float[batch * kvHeads * d];
        new MatVecPass().batch(batch)
                .add(view(layer.q.weight()), h, q)
                .add(view(layer.k.weight()), h, k)
                .add(view(layer.v.weight()), h, v)
                .run();
        finish(layer.q, h, q, batch);
        finish(layer.k, h, k, batch);
        finish(layer.v, h, v, batch);
        for (int b = 0; b < batch; b++) {
            Rope.apply(q, b * heads * d, heads, d, cos, sin, b * half);
            Rope.apply(k, b * kvHeads * d, kvHeads, d, cos, sin, b * half);
        }
        float[] attended = new float[batch * heads * d];
        attention.run(layer, index, new Attention.DecodeShape(batch, heads, kvHeads, d), q, k, v, attended);
        add(x, project(layer.o, attended, batch));

        float[] h2 = rmsNorm(x, view(layer.postNorm), batch, config.rmsNormEps());
        int inner = Math.toIntExact(layer.gate.outFeatures());
        float[] gate = new float[batch * inner];
        float[] up = new float[batch * inner];
        new MatVecPass().batch(batch).add(view(layer.gate.weight()), h2, gate).add(view(layer.up.weight()), h2, up).run();
        finish(layer.gate, h2, gate, batch);
        finish(layer.up, h2, up, batch);
        Activations.siluTimes(gate, up);
        add(x, project(layer.down, gate, batch));
    }

    /** y = x W^T + b (+ LoRA) for a batch of vectors. */
    private float[] project(Projection p, float[] x, int batch) {
        float[] y = new float[batch * Math.toIntExact(p.outFeatures())];
        MatVecPass.multiply(view(p.weight()), x, batch, y);
        finish(p, x, y, batch);
        return y;
    }

    /** Adds the bias and the unmerged LoRA update, scale * B (A x), to a projection's output. */
    private void finish(Projection p, float[] x, float[] y, int batch) {
        int out = Math.toIntExact(p.outFeatures());
        if (p.bias() != null) {
            MatrixView bias = view(p.bias());
            for (int b = 0; b < batch; b++) {
                for (int r = 0; r < out; r++) {
                    y[b * out + r] += bias.get(r);
                }
            }
        }
        Lora lora = p.lora();
        if (lora != null) {
            MatrixView a = view(lora.a());
            float[] down = new float[batch * a.rows()];
            MatVecPass.multiply(a, x, batch, down);
            float[] update = new float[y.length];
            MatVecPass.multiply(view(lora.b()), down, batch, update);
            float scale = (float) lora.scale();
            for (int i = 0; i < y.length; i++) {
                y[i] += scale * update[i];
            }
        }
    }

    /** RMSNorm of each D-sized row: x / sqrt(mean(x^2) + eps) * weight. */
    private static float[] rmsNorm(float[] x, MatrixView weight, int batch, double eps) {
        int n = weight.cols();
        float[] out = new float[x.length];
        for (int b = 0; b < batch; b++) {
            int base = b * n;
            double squares = 0;
            for (int i = 0; i < n; i++) {
                squares += (double) x[base + i] * x[base + i];
            }
            float scale = (float) (1.0 / Math.sqrt((float) (squares / n) + eps));
            for (int i = 0; i < n; i++) {
                out[base + i] = x[base + i] * scale * weight.get(i);
            }
        }
        return out;
    }

    private static void add(float[] x, float[] delta) {
        for (int i = 0; i < x.length; i++) {
            x[i] += delta[i];
        }
    }

    /** The matrices a step streams, in the order it reads them. */
    static List<Tensor> decodeWeights(DecoderModel model) {
        List<Tensor> out = new ArrayList<>();
        for (DecoderLayer layer : model.layers()) {
            for (Projection p : new Projection[] {layer.q, layer.k, layer.v, layer.o, layer.gate, layer.up, layer.down}) {
                out.add(p.weight());
            }
        }
        out.add(model.lmHead().weight());
        return out;
    }

    /** Forgets the views (their memory is about to be released). */
    synchronized void clear() {
        views.clear();
    }

    /** A cached view of a tensor's buffer, rebuilt if the tensor moved. */
    private MatrixView view(Tensor t) {
        MatrixView view = views.get(t);
        if (view == null || !view.isCurrent()) {
            view = MatrixView.of(t);
            views.put(t, view);
        }
        return view;
    }
}
