package dev.lolcats4j.model;

import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Builds models that do not come from a folder: random initialisation for pretraining, tests and benchmarks. */
public final class ModelFactory {

    private ModelFactory() {}

    /**
     * A randomly initialised model (normal(0, 0.02) weights, unit norms, as HF initialises
     * Llama), reproducible for a seed.
     */
    public static DecoderModel random(ModelConfig config, ComputeType computeType, long seed) {
        Natives.init();
        torch.manual_seed(seed);
        int hidden = config.hiddenSize();
        int qWidth = config.numHeads() * config.headDim();
        int kvWidth = config.numKvHeads() * config.headDim();
        Tensor embed = normal(computeType, config.vocabSize(), hidden);
        List<DecoderLayer> layers = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            layers.add(new DecoderLayer(config, i,
                    Tensors.ones(Tensors.F32, hidden),
                    Tensors.ones(Tensors.F32, hidden),
                    projection(computeType, qWidth, hidden, config.attentionBias()),
                    projection(computeType, kvWidth, hidden, config.attentionBias()),
                    projection(computeType, kvWidth, hidden, config.attentionBias()),
                    projection(computeType, hidden, qWidth, config.oProjBias()),
                    projection(computeType, config.intermediateSize(), hidden, config.mlpBias()),
                    projection(computeType, config.intermediateSize(), hidden, config.mlpBias()),
                    projection(computeType, hidden, config.intermediateSize(), config.mlpBias())));
        }
        Projection head = config.tieWordEmbeddings()
                ? new Projection(embed, null)
                : new Projection(normal(computeType, config.vocabSize(), hidden), null);
        DecoderModel model = new DecoderModel(config, computeType, embed, layers, Tensors.ones(Tensors.F32, hidden), head);
        // Laid out as a loaded model's: one huge-page buffer in decode order.
        dev.lolcats4j.kernels.WeightPacker.pack(VectorDecoder.decodeWeights(model));
        return model;
    }

    private static Projection projection(ComputeType type, int out, int in, boolean bias) {
        return new Projection(normal(type, out, in), bias ? Tensors.zeros(Tensors.F32, out) : null);
    }

    private static Tensor normal(ComputeType type, long rows, long cols) {
        return torch.randn(new long[] {rows, cols}, Tensors.options(Tensors.F32)).mul(Tensors.scalar(0.02)).to(type.scalarType());
    }
}
