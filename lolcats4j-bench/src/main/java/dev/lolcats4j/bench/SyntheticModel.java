package dev.lolcats4j.bench;

import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderLayer;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.ModelFactory;
import dev.lolcats4j.torch.Tensors;
import java.util.Random;
import org.bytedeco.pytorch.Tensor;

/** The synthetic Llama the model benchmarks share, and random token ids. */
final class SyntheticModel {

    private SyntheticModel() {}

    /** ~125M parameters with untied embeddings (~76M in the decoder layers). */
    static ModelConfig config(boolean quick) {
        return quick
                ? ModelConfig.llama(4096, 256, 688, 4, 4, 2)
                : ModelConfig.llama(32000, 768, 2048, 12, 12, 4);
    }

    /**
     * Random weights stored in bf16 (what the decode kernels read), the matmuls in {@code type}:
     * float32 matmuls run on float32 copies made once (as a bf16 checkpoint loads for f32).
     */
    static DecoderModel create(ModelConfig config, ComputeType type) {
        DecoderModel model = ModelFactory.random(config, ComputeType.BF16, 1234);
        if (type != ComputeType.BF16) {
            model.holdMatmulCopies(type);
        }
        return model;
    }

    /** Weights that every decode step reads in full: all projections and the LM head (not the embedding table). */
    static long matmulParameters(DecoderModel model) {
        long total = model.lmHead().weight().numel();
        for (DecoderLayer layer : model.layers()) {
            for (String name : new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}) {
                total += layer.projection(name).weight().numel();
            }
        }
        return total;
    }

    static long matmulWeightBytes(DecoderModel model) {
        long bytes = model.lmHead().weight().nbytes();
        for (DecoderLayer layer : model.layers()) {
            for (String name : new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}) {
                bytes += layer.projection(name).weight().nbytes();
            }
        }
        return bytes;
    }

    static Tensor ids(Random random, int vocab, int batch, int length) {
        long[] ids = new long[batch * length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(vocab);
        }
        return Tensors.ofLongs(ids, batch, length);
    }
}
