package dev.lolcats4j.model;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.TensorInfo;
import dev.lolcats4j.io.WeightFolder;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * Builds a {@link DecoderModel} from a Hugging Face folder, checking every tensor's presence
 * and shape against config.json before converting it to the compute dtype.
 */
public final class ModelLoader {

    private ModelLoader() {}

    public static DecoderModel load(Path dir, ComputeType computeType) {
        Natives.init();
        ModelConfig config = ModelConfigReader.read(dir);
        try (WeightFolder weights = WeightFolder.open(dir)) {
            return new Reader(weights, config, computeType).model();
        }
    }

    private record Reader(WeightFolder weights, ModelConfig config, ComputeType computeType) {

        DecoderModel model() {
            int hidden = config.hiddenSize();
            int qWidth = config.numHeads() * config.headDim();
            int kvWidth = config.numKvHeads() * config.headDim();
            Tensor embed = matrix("model.embed_tokens.weight", config.vocabSize(), hidden);
            List<DecoderLayer> layers = new ArrayList<>();
            for (int i = 0; i < config.numLayers(); i++) {
                String p = "model.layers." + i + ".";
                layers.add(new DecoderLayer(config,
                        vector(p + "input_layernorm.weight", hidden),
                        vector(p + "post_attention_layernorm.weight", hidden),
                        projection(p + "self_attn.q_proj", qWidth, hidden, config.attentionBias()),
                        projection(p + "self_attn.k_proj", kvWidth, hidden, config.attentionBias()),
                        projection(p + "self_attn.v_proj", kvWidth, hidden, config.attentionBias()),
                        projection(p + "self_attn.o_proj", hidden, qWidth, config.oProjBias()),
                        projection(p + "mlp.gate_proj", config.intermediateSize(), hidden, config.mlpBias()),
                        projection(p + "mlp.up_proj", config.intermediateSize(), hidden, config.mlpBias()),
                        projection(p + "mlp.down_proj", hidden, config.intermediateSize(), config.mlpBias())));
            }
            Tensor norm = vector("model.norm.weight", hidden);
            Projection head;
            if (config.tieWordEmbeddings() || !weights.contains("lm_head.weight")) {
                if (!config.tieWordEmbeddings()) {
                    throw new BadInputException(weights.path() + ": lm_head.weight: missing and config.json has tie_word_embeddings false");
                }
                head = new Projection(embed, null);
            } else {
                head = new Projection(matrix("lm_head.weight", config.vocabSize(), hidden), null);
            }
            return new DecoderModel(config, computeType, embed, layers, norm, head);
        }

        private Projection projection(String prefix, int out, int in, boolean bias) {
            Tensor w = matrix(prefix + ".weight", out, in);
            Tensor b = bias ? load(prefix + ".bias", out).to(Tensors.F32) : null;
            return new Projection(w, b);
        }

        private Tensor matrix(String name, long rows, long cols) {
            return load(name, rows, cols).to(computeType.scalarType());
        }

        private Tensor vector(String name, long size) {
            return load(name, size).to(Tensors.F32);
        }

        private Tensor load(String name, long... expectedShape) {
            if (!weights.contains(name)) {
                throw new BadInputException(weights.path() + ": " + name + ": tensor missing from the weights");
            }
            TensorInfo info = weights.info(name);
            if (!Arrays.equals(info.shape(), expectedShape)) {
                throw new BadInputException(weights.fileOf(name) + ": " + name + ": expected shape "
                        + Arrays.toString(expectedShape) + " from config.json, found " + Arrays.toString(info.shape()));
            }
            switch (info.dtype()) {
                case F32, F16, BF16, F64 -> { }
                default -> throw new BadInputException(weights.fileOf(name) + ": " + name
                        + ": expected a floating dtype (F32, F16, BF16), found " + info.dtype());
            }
            return Tensors.fromData(weights.get(name));
        }
    }
}
