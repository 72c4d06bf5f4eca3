package dev.lolcats4j.lolcats;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.JsonFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/** Reads and writes lolcats_config.json; unknown fields are errors, missing optional ones take defaults. */
public final class AdapterConfigJson {

    public static final String FILE_NAME = "lolcats_config.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> FIELDS = Set.of("format", "attention", "feature_map", "feature_dim", "window_size",
            "affine_attention_factors", "feature_map_bias", "softmax_layers", "lora", "sparse_cache");
    private static final Set<String> LORA_FIELDS = Set.of("rank", "alpha", "dropout", "targets");

    private AdapterConfigJson() {}

    public static AdapterConfig read(Path adapterDir) {
        Path file = adapterDir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": not found (an adapter folder holds adapter.safetensors and " + FILE_NAME + ")");
        }
        return parse(file, JsonFiles.read(file));
    }

    /** Reads a config file by its own path (any file name), e.g. a lolcats_config.json given on the command line. */
    public static AdapterConfig readFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": not found (expected a " + FILE_NAME + " file)");
        }
        return parse(file, JsonFiles.read(file));
    }

    /** Parses config text (e.g. carried inside a block job spec); {@code source} names it in errors. */
    public static AdapterConfig fromJson(String json, Path source) {
        try {
            return parse(source, JSON.readTree(json));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadInputException(source + ": not valid JSON: " + e.getOriginalMessage());
        }
    }

    static AdapterConfig parse(Path file, JsonNode root) {
        if (root == null || !root.isObject()) {
            throw BadInputException.at(file, "(root)", "expected a JSON object");
        }
        rejectUnknown(file, root, FIELDS, "");
        AdapterConfig d = AdapterConfig.defaults();
        String format = root.path("format").asText(AdapterConfig.FORMAT);
        if (!format.equals(AdapterConfig.FORMAT)) {
            throw BadInputException.at(file, "format", "expected \"" + AdapterConfig.FORMAT + "\", found \"" + format + "\"");
        }
        AttentionKind attention = root.has("attention") ? AttentionKind.parse(root.get("attention").asText(), file) : d.attention();
        FeatureMapKind featureMap = root.has("feature_map") ? FeatureMapKind.parse(root.get("feature_map").asText(), file) : d.featureMap();
        int featureDim = positive(file, root, "feature_dim", d.featureDim());
        int window = positive(file, root, "window_size", d.windowSize());
        boolean affine = bool(file, root, "affine_attention_factors");
        boolean bias = bool(file, root, "feature_map_bias");
        List<Integer> softmaxLayers = new ArrayList<>();
        JsonNode layers = root.get("softmax_layers");
        if (layers != null && !layers.isNull()) {
            if (!layers.isArray()) {
                throw BadInputException.at(file, "softmax_layers", "expected a list of layer indices, found " + layers);
            }
            for (JsonNode layer : layers) {
                if (!layer.isIntegralNumber() || layer.asInt() < 0) {
                    throw BadInputException.at(file, "softmax_layers", "expected non-negative integers, found " + layer);
                }
                softmaxLayers.add(layer.asInt());
            }
        }
        LoraConfig lora = null;
        JsonNode loraNode = root.get("lora");
        if (loraNode != null && !loraNode.isNull()) {
            if (!loraNode.isObject()) {
                throw BadInputException.at(file, "lora", "expected an object or null, found " + loraNode);
            }
            rejectUnknown(file, loraNode, LORA_FIELDS, "lora.");
            LoraConfig ld = LoraConfig.defaults();
            int rank = positive(file, loraNode, "rank", ld.rank());
            double alpha = loraNode.has("alpha") ? loraNode.get("alpha").asDouble() : ld.alpha();
            double dropout = loraNode.has("dropout") ? loraNode.get("dropout").asDouble() : 0.0;
            List<String> targets = new ArrayList<>();
            if (loraNode.has("targets")) {
                for (JsonNode t : loraNode.get("targets")) {
                    if (!LoraConfig.ALL_TARGETS.contains(t.asText())) {
                        throw BadInputException.at(file, "lora.targets", "expected names from " + LoraConfig.ALL_TARGETS + ", found \"" + t.asText() + "\"");
                    }
                    targets.add(t.asText());
                }
            } else {
                targets.addAll(ld.targets());
            }
            lora = new LoraConfig(rank, alpha, dropout, targets);
        }
        int sparseCache = sparseCache(file, root, attention);
        return new AdapterConfig(attention, featureMap, featureDim, window, affine, bias, softmaxLayers, lora, sparseCache);
    }

    /** Optional "sparse_cache": a non-negative integer, above zero only with hybrid_sw. */
    private static int sparseCache(Path file, JsonNode root, AttentionKind attention) {
        JsonNode value = root.get("sparse_cache");
        if (value == null || value.isNull()) {
            return 0;
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt() || value.asInt() < 0) {
            throw BadInputException.at(file, "sparse_cache", "expected a non-negative integer, found " + value);
        }
        if (value.asInt() > 0 && attention != AttentionKind.HYBRID_SW) {
            throw BadInputException.at(file, "sparse_cache", "a sparse cache needs \"attention\": \"hybrid_sw\", found \""
                    + attention.configName() + "\"");
        }
        return value.asInt();
    }

    public static String toJson(AdapterConfig c) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", AdapterConfig.FORMAT);
        root.put("attention", c.attention().configName());
        root.put("feature_map", c.featureMap().configName());
        root.put("feature_dim", c.featureDim());
        root.put("window_size", c.windowSize());
        root.put("affine_attention_factors", c.affineAttentionFactors());
        root.put("feature_map_bias", c.featureMapBias());
        ArrayNode layers = root.putArray("softmax_layers");
        c.softmaxLayers().forEach(layers::add);
        if (c.sparseCache() > 0) {
            root.put("sparse_cache", c.sparseCache()); // absent means 0: older readers still accept the file
        }
        if (c.lora() == null) {
            root.putNull("lora");
        } else {
            ObjectNode lora = root.putObject("lora");
            lora.put("rank", c.lora().rank());
            lora.put("alpha", c.lora().alpha());
            lora.put("dropout", c.lora().dropout());
            ArrayNode targets = lora.putArray("targets");
            c.lora().targets().forEach(targets::add);
        }
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void rejectUnknown(Path file, JsonNode node, Set<String> known, String prefix) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!known.contains(name)) {
                throw BadInputException.at(file, prefix + name, "unknown field (known: " + known.stream().sorted().toList() + ")");
            }
        }
    }

    private static int positive(Path file, JsonNode node, String field, int fallback) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return fallback;
        }
        if (!value.isIntegralNumber() || value.asInt() <= 0) {
            throw BadInputException.at(file, field, "expected a positive integer, found " + value);
        }
        return value.asInt();
    }

    private static boolean bool(Path file, JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return false;
        }
        if (!value.isBoolean()) {
            throw BadInputException.at(file, field, "expected true or false, found " + value);
        }
        return value.asBoolean();
    }
}
