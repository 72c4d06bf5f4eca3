package dev.lolcats4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.JsonFields;
import dev.lolcats4j.io.JsonFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Reads and validates a Hugging Face config.json for the llama, mistral and qwen2 families. */
public final class ModelConfigReader {

    private static final Set<String> SUPPORTED = Set.of("llama", "mistral", "qwen2");

    private ModelConfigReader() {}

    /** Reads {@code dir/config.json}. */
    public static ModelConfig read(Path dir) {
        Path file = Files.isDirectory(dir) ? dir.resolve("config.json") : dir;
        dev.lolcats4j.io.InputFiles.refuseSpecial(file);
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": not found (expected a Hugging Face model folder with config.json)");
        }
        return parse(file, JsonFiles.read(file));
    }

    static ModelConfig parse(Path file, JsonNode root) {
        if (root == null || !root.isObject()) {
            throw BadInputException.at(file, "(root)", "expected a JSON object");
        }
        String type = JsonFields.requiredText(file, root, "model_type", "model_type");
        if (!SUPPORTED.contains(type)) {
            throw BadInputException.at(file, "model_type", "expected one of " + SUPPORTED + ", found \"" + type + "\"");
        }
        String act = JsonFields.text(file, root, "hidden_act", "hidden_act", "silu");
        if (!act.equals("silu")) {
            throw BadInputException.at(file, "hidden_act", "expected \"silu\", found \"" + act + "\"");
        }
        int hidden = positiveInt(file, root, "hidden_size");
        int heads = positiveInt(file, root, "num_attention_heads");
        int kvHeads = JsonFields.absent(root, "num_key_value_heads") ? heads : positiveInt(file, root, "num_key_value_heads");
        if (heads % kvHeads != 0) {
            throw BadInputException.at(file, "num_key_value_heads",
                    "expected a divisor of num_attention_heads (" + heads + "), found " + kvHeads);
        }
        int headDim;
        if (!JsonFields.absent(root, "head_dim")) {
            headDim = positiveInt(file, root, "head_dim");
        } else {
            if (hidden % heads != 0) {
                throw BadInputException.at(file, "hidden_size", "expected a multiple of num_attention_heads (" + heads + "), found " + hidden);
            }
            headDim = hidden / heads;
        }
        if (headDim % 2 != 0) {
            throw BadInputException.at(file, "head_dim", "expected an even number for RoPE, found " + headDim);
        }
        boolean qwen = type.equals("qwen2");
        boolean attentionBias = JsonFields.bool(file, root, "attention_bias", "attention_bias", false);
        boolean bias = qwen || attentionBias;
        int vocab = positiveInt(file, root, "vocab_size");
        int numLayers = positiveInt(file, root, "num_hidden_layers");
        int[] window = slidingWindow(file, root, type);
        return new ModelConfig(
                type,
                vocab,
                hidden,
                positiveInt(file, root, "intermediate_size"),
                numLayers,
                heads,
                kvHeads,
                headDim,
                JsonFields.number(file, root, "rms_norm_eps", "rms_norm_eps", qwen ? 1e-6 : 1e-5, EPS),
                JsonFields.number(file, root, "rope_theta", "rope_theta", 10000.0, JsonFields.Range.POSITIVE),
                ropeScaling(file, root.get("rope_scaling")),
                JsonFields.bool(file, root, "tie_word_embeddings", "tie_word_embeddings", false),
                bias,
                !qwen && attentionBias,
                JsonFields.bool(file, root, "mlp_bias", "mlp_bias", false),
                (int) JsonFields.integer(file, root, "bos_token_id", "bos_token_id", 0, vocab - 1, Math.min(1, vocab - 1)),
                eosIds(file, root.get("eos_token_id"), vocab),
                (int) JsonFields.integer(file, root, "max_position_embeddings", "max_position_embeddings", 1, Integer.MAX_VALUE, 4096),
                window[0],
                window[1]);
    }

    /**
     * {window, first windowed layer} as Hugging Face reads them. Mistral: {@code sliding_window}
     * (null or absent = full attention) in every layer. Qwen2: only with
     * {@code use_sliding_window} true, {@code sliding_window} (default 4096) in the layers from
     * {@code max_window_layers} (default 28) on. Llama has no sliding window.
     */
    private static int[] slidingWindow(Path file, JsonNode root, String type) {
        switch (type) {
            case "mistral": {
                if (!root.hasNonNull("sliding_window")) {
                    return new int[] {0, 0};
                }
                return new int[] {positiveInt(file, root, "sliding_window"), 0};
            }
            case "qwen2": {
                if (!JsonFields.bool(file, root, "use_sliding_window", "use_sliding_window", false)) {
                    return new int[] {0, 0};
                }
                int window = root.hasNonNull("sliding_window") ? positiveInt(file, root, "sliding_window") : 4096;
                int first = (int) JsonFields.integer(file, root, "max_window_layers", "max_window_layers", 0, Integer.MAX_VALUE, 28);
                return new int[] {window, first};
            }
            default:
                return new int[] {0, 0};
        }
    }

    /** rms_norm_eps: positive (a zero epsilon divides by zero on an all-zero row) and small. */
    private static final JsonFields.Range EPS = new JsonFields.Range(0, false, 1, true);

    private static RopeScaling ropeScaling(Path file, JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw BadInputException.at(file, "rope_scaling", "expected an object or null, found " + node);
        }
        String type = !JsonFields.absent(node, "rope_type")
                ? JsonFields.text(file, node, "rope_type", "rope_scaling.rope_type", "")
                : JsonFields.text(file, node, "type", "rope_scaling.type", "");
        JsonFields.Range positive = JsonFields.Range.POSITIVE;
        switch (type) {
            case "default":
                return null;
            case "linear":
                return new RopeScaling("linear", JsonFields.requiredNumber(file, node, "factor", "rope_scaling.factor", positive), 0, 0, 0);
            case "llama3":
                return new RopeScaling("llama3",
                        JsonFields.requiredNumber(file, node, "factor", "rope_scaling.factor", positive),
                        JsonFields.requiredNumber(file, node, "low_freq_factor", "rope_scaling.low_freq_factor", positive),
                        JsonFields.requiredNumber(file, node, "high_freq_factor", "rope_scaling.high_freq_factor", positive),
                        (int) JsonFields.requiredInteger(file, node, "original_max_position_embeddings",
                                "rope_scaling.original_max_position_embeddings", 1, Integer.MAX_VALUE));
            default:
                throw BadInputException.at(file, "rope_scaling.rope_type",
                        "expected one of [default, linear, llama3], found \"" + type + "\"");
        }
    }

    private static List<Integer> eosIds(Path file, JsonNode node, int vocab) {
        List<Integer> ids = new ArrayList<>();
        if (node == null || node.isNull()) {
            return ids;
        }
        if (node.isArray()) {
            for (JsonNode n : node) {
                ids.add((int) JsonFields.integer(file, n, "eos_token_id", 0, vocab - 1));
            }
        } else if (node.isNumber()) {
            ids.add((int) JsonFields.integer(file, node, "eos_token_id", 0, vocab - 1));
        } else {
            throw BadInputException.at(file, "eos_token_id", "expected an integer or a list of integers, found " + node);
        }
        return ids;
    }

    private static int positiveInt(Path file, JsonNode root, String field) {
        return (int) JsonFields.requiredInteger(file, root, field, field, 1, Integer.MAX_VALUE);
    }
}
