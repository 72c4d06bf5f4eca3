package dev.lolcats4j.train;

import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.lolcats.HybridAttention;
import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.DecoderLayer;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.LayerBlock;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.Rope;
import dev.lolcats4j.torch.Tensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Stage 1 (lolcats-method.md section 5): every converted layer at once, teacher-forced. Each
 * layer's hybrid attention sees the q, k, v that the softmax teacher produced, and its per-head
 * output before o_proj is matched to the teacher's by MSE; the teacher's output is what flows
 * on to the next layer. Loss = 1000 x mean over layers of the MSE (+ an optional attention
 * cross-entropy term). Only feature maps and window factors train.
 */
public final class AttentionTransfer implements Objective {

    private static final double MSE_SCALE = 1000;

    private final ModelConfig modelConfig;
    private final List<DecoderLayer> layers;
    private final Rope rope;
    private final Function<Batch, Tensor> inputs;
    private final Consumer<Path> saver;
    private final AdapterConfig config;
    private final double attentionXent;
    private final List<Tensor> parameters = new ArrayList<>();

    public AttentionTransfer(DecoderModel model, AdapterConfig config) {
        this(model, config, 0);
    }

    /**
     * @param attentionXent weight of the attention cross-entropy term (0 = off, the default;
     *     the reference used 1 for its largest model). It compares full N x N attention rows, so
     *     its memory is quadratic in the sequence length.
     */
    public AttentionTransfer(DecoderModel model, AdapterConfig config, double attentionXent) {
        this(model.config(), model.layers(), model.rope(), batch -> model.embed(batch.inputs()), config, attentionXent,
                dir -> Adapters.save(model, config, dir));
    }

    /**
     * Stage 1 on one block of layers (block-wise transfer): {@code inputs} gives the hidden
     * states entering the block for a batch (float32 [B, N, D], from the hidden-state cache);
     * the loss is the same as joint stage 1's restricted to these layers.
     *
     * @param saver writes the block's adapter to a folder
     */
    public AttentionTransfer(LayerBlock block, AdapterConfig config, double attentionXent, Function<Batch, Tensor> inputs,
            Consumer<Path> saver) {
        this(block.config(), block.layers(), block.rope(), inputs, config, attentionXent, saver);
    }

    private AttentionTransfer(ModelConfig modelConfig, List<DecoderLayer> layers, Rope rope, Function<Batch, Tensor> inputs,
            AdapterConfig config, double attentionXent, Consumer<Path> saver) {
        this.modelConfig = modelConfig;
        this.layers = layers;
        this.rope = rope;
        this.inputs = inputs;
        this.saver = saver;
        this.config = config;
        this.attentionXent = attentionXent;
        // bf16 block products where the matmuls are bf16: the same parameter tensors train.
        dev.lolcats4j.lolcats.Adapters.useTrainingBlockProducts(layers);
        for (DecoderLayer layer : layers) {
            if (layer.attention() instanceof HybridAttention hybrid) {
                parameters.addAll(hybrid.params().trainableTensors());
            }
        }
        parameters.forEach(t -> t.set_requires_grad(true));
    }

    @Override
    public List<Tensor> parameters() {
        return parameters;
    }

    @Override
    public double trainStep(Batch batch, double scale) {
        return run(batch, scale, true);
    }

    @Override
    public double evalLoss(Batch batch) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            return run(batch, 1, false);
        }
    }

    /** Per-layer MSE (before scaling; plus the scaled cross-entropy term if on) on one batch. */
    public double[] layerMse(Batch batch) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            List<Double> out = new ArrayList<>();
            forEachLayer(batch, (layerMse) -> out.add(layerMse.item_double()));
            return out.stream().mapToDouble(Double::doubleValue).toArray();
        }
    }

    private double run(Batch batch, double scale, boolean backward) {
        int converted = (int) layers.stream().filter(l -> l.attention() instanceof HybridAttention).count();
        double[] total = {0};
        forEachLayer(batch, mse -> {
            Tensor layerLoss = mse.mul(Tensors.scalar(MSE_SCALE / converted));
            total[0] += layerLoss.item_double();
            if (backward) {
                // Each layer's graph only reaches its own feature maps (q, k, v are teacher
                // constants), so backpropagating layer by layer frees each graph at once.
                layerLoss.mul(Tensors.scalar(scale)).backward();
            }
        });
        return total[0];
    }

    private void forEachLayer(Batch batch, java.util.function.Consumer<Tensor> onLayerLoss) {
        Tensor x;
        Tensor[] cosSin;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            long n = batch.inputs().size(1);
            Tensor positions = Tensors.arange(n).unsqueeze(0).expand(batch.inputs().size(0), n).contiguous();
            cosSin = rope.cosSin(positions);
            x = inputs.apply(batch);
        }
        AttentionContext context = AttentionContext.unpadded();
        for (int i = 0; i < layers.size(); i++) {
            // Each layer's temporaries are freed when it is done; only the teacher output goes on.
            org.bytedeco.javacpp.PointerScope outer = org.bytedeco.javacpp.PointerScope.getInnerScope();
            try (org.bytedeco.javacpp.PointerScope layerScope = new org.bytedeco.javacpp.PointerScope()) {
                x = Tensors.handOver(layerStep(layers.get(i), x, cosSin, context, onLayerLoss, i == layers.size() - 1), outer);
            }
        }
    }

    /**
     * One layer's loss, and the teacher's output that the next layer takes in; the last layer has
     * no next one, so its o_proj and MLP are skipped (it returns its input instead).
     */
    private Tensor layerStep(DecoderLayer layer, Tensor x, Tensor[] cosSin, AttentionContext context,
            java.util.function.Consumer<Tensor> onLayerLoss, boolean last) {
        Tensor[] qkv;
        Tensor target;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            qkv = layer.queryKeyValue(x, cosSin);
            // The teacher is the layer's own softmax attention (its sliding window, if any), in float32.
            target = layer.softmaxAttention(Tensors.F32).forward(qkv[0], qkv[1], qkv[2], context, null);
        }
        if (layer.attention() instanceof HybridAttention hybrid) {
            Tensor student = hybrid.forward(qkv[0], qkv[1], qkv[2], context, null);
            // mse_loss: one kernel each way, where sub, pow and mean were three.
            Tensor loss = org.bytedeco.pytorch.global.torch.mse_loss(student, target);
            if (attentionXent > 0) {
                // Scaled so that, after the 1000 x MSE scaling below, the term weighs attentionXent.
                loss = loss.add(attentionCrossEntropy(hybrid, qkv, layer.slidingWindow()).mul(Tensors.scalar(attentionXent / MSE_SCALE)));
            }
            onLayerLoss.accept(loss);
        }
        if (last) {
            return x;
        }
        try (NoGradGuard noGrad = new NoGradGuard()) {
            return layer.finish(x, target);
        }
    }

    /** Mean over rows of -sum_j softmax_teacher(i, j) log hybrid(i, j). */
    private Tensor attentionCrossEntropy(HybridAttention hybrid, Tensor[] qkv, int window) {
        int group = modelConfig.groupSize();
        Tensor k = dev.lolcats4j.model.Heads.expand(qkv[1], group);
        Tensor teacherRows;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            long n = qkv[0].size(2);
            Tensor scores = qkv[0].matmul(k.transpose(2, 3)).mul(Tensors.scalar(1.0 / Math.sqrt(qkv[0].size(3))));
            Tensor future = Tensors.ones(Tensors.F32, n, n).triu(1).gt(Tensors.scalar(0.5));
            if (window > 0) {
                // Keys W or more positions back are outside the teacher's sliding window.
                future = future.logical_or(Tensors.ones(Tensors.F32, n, n).tril(-window).gt(Tensors.scalar(0.5)));
            }
            teacherRows = scores.masked_fill(future, Tensors.scalar(Double.NEGATIVE_INFINITY)).softmax(-1);
        }
        Tensor studentRows = dev.lolcats4j.lolcats.HybridKernels.attentionWeights(hybrid.params(), qkv[0], k, null);
        return teacherRows.mul(studentRows.clamp_min(Tensors.scalar(1e-12)).log()).sum(new long[] {-1}, false,
                new org.bytedeco.pytorch.ScalarTypeOptional()).neg().mean();
    }

    @Override
    public void save(Path dir) {
        saver.accept(dir);
    }

    /**
     * The frozen teacher's output of one layer, computed exactly as stage 1 computes the
     * stream it passes on (q, k, v, the layer's own softmax attention in float32, then o_proj
     * and the MLP); also what fills the hidden-state cache.
     */
    public static Tensor teacherLayer(DecoderLayer layer, Tensor x, Tensor[] cosSin) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            Tensor[] qkv = layer.queryKeyValue(x, cosSin);
            Tensor target = layer.softmaxAttention(Tensors.F32).forward(qkv[0], qkv[1], qkv[2], AttentionContext.unpadded(), null);
            return layer.finish(x, target);
        }
    }
}
