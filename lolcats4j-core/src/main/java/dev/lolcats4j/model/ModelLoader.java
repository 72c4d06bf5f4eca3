package dev.lolcats4j.model;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.TensorInfo;
import dev.lolcats4j.io.WeightFolder;
import dev.lolcats4j.kernels.WeightPacker;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
            return new Reader(weights, config, computeType, slots(config, computeType)).model();
        }
    }

    /**
     * Loads only layers {@code [firstLayer, endLayer)} (with config.json and RoPE): the
     * embeddings, the final norm, the LM head and every other layer are never read. The
     * weight files are memory-mapped, so only the pages of this block's tensors are touched.
     */
    public static LayerBlock loadLayers(Path dir, ComputeType computeType, int firstLayer, int endLayer) {
        Natives.init();
        ModelConfig config = ModelConfigReader.read(dir);
        if (firstLayer < 0 || endLayer > config.numLayers() || firstLayer >= endLayer) {
            throw new BadInputException(dir.resolve("config.json") + ": num_hidden_layers: layers [" + firstLayer + ", "
                    + endLayer + ") do not exist (model has " + config.numLayers() + ")");
        }
        try (WeightFolder weights = WeightFolder.open(dir)) {
            Reader reader = new Reader(weights, config, computeType, Map.of());
            List<DecoderLayer> layers = new ArrayList<>();
            for (int i = firstLayer; i < endLayer; i++) {
                layers.add(reader.layer(i));
            }
            return new LayerBlock(config, firstLayer, layers, new Rope(config));
        }
    }

    /**
     * The matrices a decode step streams, in the order it reads them (VectorDecoder's
     * decodeWeights), each given a slot in one huge-page buffer (see WeightPacker): they are
     * copied from the file straight into it.
     */
    private static Map<String, Tensor> slots(ModelConfig config, ComputeType computeType) {
        int hidden = config.hiddenSize();
        int qWidth = config.numHeads() * config.headDim();
        int kvWidth = config.numKvHeads() * config.headDim();
        int inner = config.intermediateSize();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (int i = 0; i < config.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            shapes.put(p + "self_attn.q_proj.weight", new long[] {qWidth, hidden});
            shapes.put(p + "self_attn.k_proj.weight", new long[] {kvWidth, hidden});
            shapes.put(p + "self_attn.v_proj.weight", new long[] {kvWidth, hidden});
            shapes.put(p + "self_attn.o_proj.weight", new long[] {hidden, qWidth});
            shapes.put(p + "mlp.gate_proj.weight", new long[] {inner, hidden});
            shapes.put(p + "mlp.up_proj.weight", new long[] {inner, hidden});
            shapes.put(p + "mlp.down_proj.weight", new long[] {hidden, inner});
        }
        // The LM head last; tied, it is the embedding table (read whole by every step too).
        shapes.put(config.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight",
                new long[] {config.vocabSize(), hidden});
        List<Tensor> slots = WeightPacker.slots(new ArrayList<>(shapes.values()), computeType.scalarType());
        Map<String, Tensor> out = new HashMap<>();
        int i = 0;
        for (String name : shapes.keySet()) {
            out.put(name, slots.get(i++));
        }
        return out;
    }

    private record Reader(WeightFolder weights, ModelConfig config, ComputeType computeType, Map<String, Tensor> slots) {

        DecoderModel model() {
            int hidden = config.hiddenSize();
            int qWidth = config.numHeads() * config.headDim();
            int kvWidth = config.numKvHeads() * config.headDim();
            Tensor embed = matrix("model.embed_tokens.weight", config.vocabSize(), hidden);
            List<DecoderLayer> layers = new ArrayList<>();
            for (int i = 0; i < config.numLayers(); i++) {
                layers.add(layer(i));
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

        DecoderLayer layer(int i) {
            int hidden = config.hiddenSize();
            int qWidth = config.numHeads() * config.headDim();
            int kvWidth = config.numKvHeads() * config.headDim();
            String p = "model.layers." + i + ".";
            return new DecoderLayer(config, i,
                        vector(p + "input_layernorm.weight", hidden),
                        vector(p + "post_attention_layernorm.weight", hidden),
                        projection(p + "self_attn.q_proj", qWidth, hidden, config.attentionBias()),
                        projection(p + "self_attn.k_proj", kvWidth, hidden, config.attentionBias()),
                        projection(p + "self_attn.v_proj", kvWidth, hidden, config.attentionBias()),
                        projection(p + "self_attn.o_proj", hidden, qWidth, config.oProjBias()),
                        projection(p + "mlp.gate_proj", config.intermediateSize(), hidden, config.mlpBias()),
                        projection(p + "mlp.up_proj", config.intermediateSize(), hidden, config.mlpBias()),
                        projection(p + "mlp.down_proj", hidden, config.intermediateSize(), config.mlpBias()));
        }

        private Projection projection(String prefix, int out, int in, boolean bias) {
            Tensor w = matrix(prefix + ".weight", out, in);
            Tensor b = bias ? load(prefix + ".bias", out).to(Tensors.F32) : null;
            return new Projection(w, b);
        }

        private Tensor matrix(String name, long rows, long cols) {
            Tensor slot = slots.get(name);
            if (slot == null) {
                return load(name, rows, cols).to(computeType.scalarType());
            }
            check(name, rows, cols);
            slot.copy_(Tensors.viewOf(weights.get(name))); // converts the dtype on the way
            return slot;
        }

        private Tensor vector(String name, long size) {
            return load(name, size).to(Tensors.F32);
        }

        private Tensor load(String name, long... expectedShape) {
            check(name, expectedShape);
            return Tensors.fromData(weights.get(name));
        }

        /** The tensor exists with the shape config.json implies and a floating dtype. */
        private void check(String name, long... expectedShape) {
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
        }
    }
}
