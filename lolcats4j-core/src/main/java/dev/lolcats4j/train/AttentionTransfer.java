package dev.lolcats4j.train;

import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.lolcats.HybridAttention;
import dev.lolcats4j.lolcats.HybridParams;
import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.DecoderLayer;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.SoftmaxAttention;
import dev.lolcats4j.torch.Tensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Stage 1 (lolcats-method.md section 5): every converted layer at once, teacher-forced. Each
 * layer's hybrid attention sees the q, k, v that the softmax teacher produced, and its per-head
 * output before o_proj is matched to the teacher's by MSE; the teacher's output is what flows
 * on to the next layer. Loss = 1000 x mean over layers of the MSE. Only feature maps and window
 * factors train.
 */
public final class AttentionTransfer implements Objective {

    private static final double MSE_SCALE = 1000;

    private final DecoderModel model;
    private final AdapterConfig config;
    private final SoftmaxAttention teacher;
    private final List<Tensor> parameters = new ArrayList<>();

    public AttentionTransfer(DecoderModel model, AdapterConfig config) {
        this.model = model;
        this.config = config;
        this.teacher = new SoftmaxAttention(model.config().groupSize());
        for (DecoderLayer layer : model.layers()) {
            if (layer.attention() instanceof HybridAttention hybrid) {
                HybridParams p = hybrid.params();
                parameters.add(p.featureQ().weight());
                parameters.add(p.featureK().weight());
                if (p.featureQ().bias() != null) {
                    parameters.add(p.featureQ().bias());
                    parameters.add(p.featureK().bias());
                }
                parameters.add(p.windowFactors());
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

    /** Per-layer MSE (before scaling) on one batch, for reporting how well each layer matches. */
    public double[] layerMse(Batch batch) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            List<Double> out = new ArrayList<>();
            forEachLayer(batch, (layerMse) -> out.add(layerMse.item_double()));
            return out.stream().mapToDouble(Double::doubleValue).toArray();
        }
    }

    private double run(Batch batch, double scale, boolean backward) {
        int converted = (int) model.layers().stream().filter(l -> l.attention() instanceof HybridAttention).count();
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

    private void forEachLayer(Batch batch, java.util.function.Consumer<Tensor> onLayerMse) {
        Tensor x;
        Tensor[] cosSin;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            long n = batch.inputs().size(1);
            Tensor positions = Tensors.arange(n).unsqueeze(0).expand(batch.inputs().size(0), n).contiguous();
            cosSin = model.rope().cosSin(positions);
            x = model.embed(batch.inputs());
        }
        AttentionContext context = AttentionContext.unpadded();
        for (DecoderLayer layer : model.layers()) {
            Tensor[] qkv;
            Tensor target;
            try (NoGradGuard noGrad = new NoGradGuard()) {
                qkv = layer.queryKeyValue(x, cosSin);
                target = teacher.forward(qkv[0], qkv[1], qkv[2], context, null);
            }
            if (layer.attention() instanceof HybridAttention hybrid) {
                Tensor student = hybrid.forward(qkv[0], qkv[1], qkv[2], context, null);
                onLayerMse.accept(student.sub(target).pow(Tensors.scalar(2)).mean());
            }
            try (NoGradGuard noGrad = new NoGradGuard()) {
                x = layer.finish(x, target);
            }
        }
    }

    @Override
    public void save(Path dir) {
        Adapters.save(model, config, dir);
    }
}
