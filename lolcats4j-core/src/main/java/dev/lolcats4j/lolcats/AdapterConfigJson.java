package dev.lolcats4j.lolcats;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.BadInputException;
import dev.lolcats4j.Limits;
import dev.lolcats4j.io.JsonFields;
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
        Path file = dev.lolcats4j.io.InputFiles.refuseSpecial(adapterDir.resolve(FILE_NAME));
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": not found (an adapter folder holds adapter.safetensors and " + FILE_NAME + ")");
        }
        return parse(file, JsonFiles.read(file));
    }

    /** Reads a config file by its own path (any file name), e.g. a lolcats_config.json given on the command line. */
    public static AdapterConfig readFile(Path file) {
        dev.lolcats4j.io.InputFiles.refuseSpecial(file);
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": not found (expected a " + FILE_NAME + " file)");
        }
        return parse(file, JsonFiles.read(file));
    }

    static AdapterConfig parse(Path file, JsonNode root) {
        if (root == null || !root.isObject()) {
            throw BadInputException.at(file, "(root)", "expected a JSON object");
        }
        rejectUnknown(file, root, FIELDS, "");
        AdapterConfig d = AdapterConfig.defaults();
        String format = JsonFields.text(file, root, "format", "format", AdapterConfig.FORMAT);
        if (!format.equals(AdapterConfig.FORMAT)) {
            throw BadInputException.at(file, "format", "expected \"" + AdapterConfig.FORMAT + "\", found \"" + format + "\"");
        }
        AttentionKind attention = JsonFields.absent(root, "attention") ? d.attention()
                : AttentionKind.parse(JsonFields.text(file, root, "attention", "attention", null), file);
        FeatureMapKind featureMap = JsonFields.absent(root, "feature_map") ? d.featureMap()
                : FeatureMapKind.parse(JsonFields.text(file, root, "feature_map", "feature_map", null), file);
        int featureDim = (int) JsonFields.integer(file, root, "feature_dim", "feature_dim", 1, Limits.MAX_FEATURE_DIM, d.featureDim());
        int window = (int) JsonFields.integer(file, root, "window_size", "window_size", 1, Limits.MAX_WINDOW, d.windowSize());
        boolean affine = JsonFields.bool(file, root, "affine_attention_factors", "affine_attention_factors", false);
        boolean bias = JsonFields.bool(file, root, "feature_map_bias", "feature_map_bias", false);
        List<Integer> softmaxLayers = new ArrayList<>();
        JsonNode layers = root.get("softmax_layers");
        if (layers != null && !layers.isNull()) {
            if (!layers.isArray()) {
                throw BadInputException.at(file, "softmax_layers", "expected a list of layer indices, found " + layers);
            }
            for (JsonNode layer : layers) {
                int index = (int) JsonFields.integer(file, layer, "softmax_layers", 0, Integer.MAX_VALUE - 1);
                if (softmaxLayers.contains(index)) {
                    throw BadInputException.at(file, "softmax_layers", "layer " + index + " is listed twice");
                }
                softmaxLayers.add(index);
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
            int rank = (int) JsonFields.integer(file, loraNode, "rank", "lora.rank", 1, Limits.MAX_LORA_RANK, ld.rank());
            double alpha = JsonFields.number(file, loraNode, "alpha", "lora.alpha", ld.alpha(), JsonFields.Range.POSITIVE);
            double dropout = JsonFields.number(file, loraNode, "dropout", "lora.dropout", 0.0, JsonFields.Range.DROPOUT);
            List<String> targets = new ArrayList<>();
            if (!JsonFields.absent(loraNode, "targets")) {
                JsonNode list = loraNode.get("targets");
                if (!list.isArray() || list.isEmpty()) {
                    throw BadInputException.at(file, "lora.targets", "expected a non-empty list of names from "
                            + LoraConfig.ALL_TARGETS + ", found " + list);
                }
                for (JsonNode t : list) {
                    if (!t.isTextual() || !LoraConfig.ALL_TARGETS.contains(t.textValue())) {
                        throw BadInputException.at(file, "lora.targets", "expected names from " + LoraConfig.ALL_TARGETS + ", found " + t);
                    }
                    if (targets.contains(t.textValue())) {
                        throw BadInputException.at(file, "lora.targets", t + " is listed twice");
                    }
                    targets.add(t.textValue());
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
        int pairs = (int) JsonFields.integer(file, value, "sparse_cache", 0, Limits.MAX_TOKENS);
        if (pairs > 0 && attention != AttentionKind.HYBRID_SW) {
            throw BadInputException.at(file, "sparse_cache", "a sparse cache needs \"attention\": \"hybrid_sw\", found \""
                    + attention.configName() + "\"");
        }
        return pairs;
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
}
