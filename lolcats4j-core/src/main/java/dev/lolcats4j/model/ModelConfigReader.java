package dev.lolcats4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lolcats4j.BadInputException;
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
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": not found (expected a Hugging Face model folder with config.json)");
        }
        return parse(file, JsonFiles.read(file));
    }

    static ModelConfig parse(Path file, JsonNode root) {
        if (root == null || !root.isObject()) {
            throw BadInputException.at(file, "(root)", "expected a JSON object");
        }
        String type = text(file, root, "model_type");
        if (!SUPPORTED.contains(type)) {
            throw BadInputException.at(file, "model_type", "expected one of " + SUPPORTED + ", found \"" + type + "\"");
        }
        String act = root.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw BadInputException.at(file, "hidden_act", "expected \"silu\", found \"" + act + "\"");
        }
        int hidden = positiveInt(file, root, "hidden_size");
        int heads = positiveInt(file, root, "num_attention_heads");
        int kvHeads = root.has("num_key_value_heads") && !root.get("num_key_value_heads").isNull()
                ? positiveInt(file, root, "num_key_value_heads") : heads;
        if (heads % kvHeads != 0) {
            throw BadInputException.at(file, "num_key_value_heads",
                    "expected a divisor of num_attention_heads (" + heads + "), found " + kvHeads);
        }
        int headDim;
        if (root.hasNonNull("head_dim")) {
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
        boolean bias = qwen || root.path("attention_bias").asBoolean(false);
        int numLayers = positiveInt(file, root, "num_hidden_layers");
        int[] window = slidingWindow(file, root, type);
        return new ModelConfig(
                type,
                positiveInt(file, root, "vocab_size"),
                hidden,
                positiveInt(file, root, "intermediate_size"),
                numLayers,
                heads,
                kvHeads,
                headDim,
                number(file, root, "rms_norm_eps", qwen ? 1e-6 : 1e-5),
                number(file, root, "rope_theta", 10000.0),
                ropeScaling(file, root.get("rope_scaling")),
                root.path("tie_word_embeddings").asBoolean(false),
                bias,
                !qwen && root.path("attention_bias").asBoolean(false),
                root.path("mlp_bias").asBoolean(false),
                root.path("bos_token_id").asInt(1),
                eosIds(file, root.get("eos_token_id")),
                root.path("max_position_embeddings").asInt(4096),
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
                JsonNode use = root.get("use_sliding_window");
                if (use != null && !use.isNull() && !use.isBoolean()) {
                    throw BadInputException.at(file, "use_sliding_window", "expected true or false, found " + use);
                }
                if (use == null || !use.asBoolean()) {
                    return new int[] {0, 0};
                }
                int window = root.hasNonNull("sliding_window") ? positiveInt(file, root, "sliding_window") : 4096;
                int first = 28;
                if (root.hasNonNull("max_window_layers")) {
                    JsonNode n = root.get("max_window_layers");
                    if (!n.isIntegralNumber() || n.asLong() < 0 || n.asLong() > Integer.MAX_VALUE) {
                        throw BadInputException.at(file, "max_window_layers", "expected an integer >= 0, found " + n);
                    }
                    first = n.asInt();
                }
                return new int[] {window, first};
            }
            default:
                return new int[] {0, 0};
        }
    }

    private static RopeScaling ropeScaling(Path file, JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw BadInputException.at(file, "rope_scaling", "expected an object or null, found " + node);
        }
        String type = node.hasNonNull("rope_type") ? node.get("rope_type").asText() : node.path("type").asText("");
        switch (type) {
            case "default":
                return null;
            case "linear":
                return new RopeScaling("linear", number(file, node, "factor", "rope_scaling.factor"), 0, 0, 0);
            case "llama3":
                return new RopeScaling("llama3",
                        number(file, node, "factor", "rope_scaling.factor"),
                        number(file, node, "low_freq_factor", "rope_scaling.low_freq_factor"),
                        number(file, node, "high_freq_factor", "rope_scaling.high_freq_factor"),
                        (int) number(file, node, "original_max_position_embeddings", "rope_scaling.original_max_position_embeddings"));
            default:
                throw BadInputException.at(file, "rope_scaling.rope_type",
                        "expected one of [default, linear, llama3], found \"" + type + "\"");
        }
    }

    private static List<Integer> eosIds(Path file, JsonNode node) {
        List<Integer> ids = new ArrayList<>();
        if (node == null || node.isNull()) {
            return ids;
        }
        if (node.isArray()) {
            node.forEach(n -> ids.add(n.asInt()));
        } else if (node.isIntegralNumber()) {
            ids.add(node.asInt());
        } else {
            throw BadInputException.at(file, "eos_token_id", "expected an integer or a list of integers, found " + node);
        }
        return ids;
    }

    private static String text(Path file, JsonNode root, String field) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            throw BadInputException.at(file, field, "required field is missing");
        }
        return node.asText();
    }

    private static int positiveInt(Path file, JsonNode root, String field) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            throw BadInputException.at(file, field, "required field is missing");
        }
        if (!node.isIntegralNumber() || node.asLong() <= 0 || node.asLong() > Integer.MAX_VALUE) {
            throw BadInputException.at(file, field, "expected a positive integer, found " + node);
        }
        return node.asInt();
    }

    private static double number(Path file, JsonNode root, String field, double fallback) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isNumber()) {
            throw BadInputException.at(file, field, "expected a number, found " + node);
        }
        return node.asDouble();
    }

    private static double number(Path file, JsonNode node, String field, String path) {
        JsonNode value = node.get(field);
        if (value == null || !value.isNumber()) {
            throw BadInputException.at(file, path, value == null ? "required field is missing" : "expected a number, found " + value);
        }
        return value.asDouble();
    }
}
