package dev.lolcats4j.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.io.SafetensorsWriter;
import dev.lolcats4j.io.TensorData;
import dev.lolcats4j.torch.Tensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Writes a model as a Hugging Face folder (config.json + safetensors, sharded above 2 GiB),
 * every file atomically. LoRA updates, if any, are merged into the written weights.
 */
public final class ModelWriter {

    private static final long SHARD_BYTES = 2L << 30;

    private ModelWriter() {}

    /** @param storeType the dtype weights are stored in (F32 or BF16) */
    public static void save(DecoderModel model, Path dir, ScalarType storeType) {
        AtomicFiles.createDirectories(dir);
        ModelConfig c = model.config();
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        put(tensors, "model.embed_tokens.weight", model.embeddingWeight(), storeType);
        for (int i = 0; i < c.numLayers(); i++) {
            DecoderLayer layer = model.layers().get(i);
            String p = "model.layers." + i + ".";
            put(tensors, p + "input_layernorm.weight", layer.inputNorm, storeType);
            for (String name : new String[] {"q_proj", "k_proj", "v_proj", "o_proj"}) {
                putProjection(tensors, p + "self_attn." + name, layer.projection(name), storeType);
            }
            put(tensors, p + "post_attention_layernorm.weight", layer.postNorm, storeType);
            for (String name : new String[] {"gate_proj", "up_proj", "down_proj"}) {
                putProjection(tensors, p + "mlp." + name, layer.projection(name), storeType);
            }
        }
        put(tensors, "model.norm.weight", model.finalNorm(), storeType);
        if (!c.tieWordEmbeddings()) {
            putProjection(tensors, "lm_head", model.lmHead(), storeType);
        }
        SafetensorsWriter.writeSharded(dir, tensors, SHARD_BYTES);
        AtomicFiles.writeString(dir.resolve("config.json"), configJson(c, storeType));
    }

    private static void putProjection(Map<String, TensorData> out, String prefix, Projection p, ScalarType type) {
        Tensor weight = p.weight().to(Tensors.F32);
        if (p.lora() != null) {
            Lora l = p.lora();
            weight = weight.add(l.b().matmul(l.a()).mul(Tensors.scalar(l.scale())));
        }
        put(out, prefix + ".weight", weight, type);
        if (p.bias() != null) {
            put(out, prefix + ".bias", p.bias(), type);
        }
    }

    private static void put(Map<String, TensorData> out, String name, Tensor t, ScalarType type) {
        out.put(name, Tensors.toData(t.detach().to(type).contiguous()));
    }

    /** config.json in Hugging Face's field names. */
    public static String configJson(ModelConfig c, ScalarType storeType) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        String arch = switch (c.modelType()) {
            case "qwen2" -> "Qwen2ForCausalLM";
            case "mistral" -> "MistralForCausalLM";
            default -> "LlamaForCausalLM";
        };
        root.putArray("architectures").add(arch);
        root.put("model_type", c.modelType());
        root.put("hidden_act", "silu");
        root.put("vocab_size", c.vocabSize());
        root.put("hidden_size", c.hiddenSize());
        root.put("intermediate_size", c.intermediateSize());
        root.put("num_hidden_layers", c.numLayers());
        root.put("num_attention_heads", c.numHeads());
        root.put("num_key_value_heads", c.numKvHeads());
        root.put("head_dim", c.headDim());
        root.put("rms_norm_eps", c.rmsNormEps());
        root.put("rope_theta", c.ropeTheta());
        if (c.ropeScaling() == null) {
            root.putNull("rope_scaling");
        } else {
            ObjectNode s = root.putObject("rope_scaling");
            s.put("rope_type", c.ropeScaling().type());
            s.put("factor", c.ropeScaling().factor());
            if (c.ropeScaling().type().equals("llama3")) {
                s.put("low_freq_factor", c.ropeScaling().lowFreqFactor());
                s.put("high_freq_factor", c.ropeScaling().highFreqFactor());
                s.put("original_max_position_embeddings", c.ropeScaling().originalMaxPositionEmbeddings());
            }
        }
        root.put("max_position_embeddings", c.maxPositionEmbeddings());
        if (c.slidingWindow() > 0) {
            // Hugging Face's fields for each family (see ModelConfigReader).
            if (c.modelType().equals("qwen2")) {
                root.put("use_sliding_window", true);
                root.put("sliding_window", c.slidingWindow());
                root.put("max_window_layers", c.firstSlidingLayer());
            } else if (c.modelType().equals("mistral") && c.firstSlidingLayer() == 0) {
                root.put("sliding_window", c.slidingWindow());
            } else {
                throw new IllegalArgumentException(c.modelType() + " has no config.json field for a sliding window from layer "
                        + c.firstSlidingLayer());
            }
        }
        root.put("tie_word_embeddings", c.tieWordEmbeddings());
        root.put("attention_bias", c.oProjBias());
        root.put("mlp_bias", c.mlpBias());
        root.put("bos_token_id", c.bosTokenId());
        if (c.eosTokenIds().size() == 1) {
            root.put("eos_token_id", c.eosTokenIds().get(0));
        } else {
            c.eosTokenIds().forEach(root.putArray("eos_token_id")::add);
        }
        root.put("torch_dtype", Tensors.same(storeType, Tensors.BF16) ? "bfloat16" : "float32");
        try {
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
