package dev.lolcats4j.lolcats;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.io.SafetensorsFile;
import dev.lolcats4j.io.SafetensorsWriter;
import dev.lolcats4j.io.TensorData;
import dev.lolcats4j.io.TensorInfo;
import dev.lolcats4j.model.DecoderLayer;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.Lora;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.Projection;
import dev.lolcats4j.torch.Tensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Turns a base model into a LoLCATs model and back: fresh conversion, adapter folder
 * loading (with shape checks against the model) and saving, under the reference's tensor names.
 */
public final class Adapters {

    public static final String WEIGHTS_FILE = "adapter.safetensors";

    private Adapters() {}

    /** Swaps in hybrid attention with identity feature maps and gamma = 0.1; LoRA B = 0. */
    public static void convert(DecoderModel model, AdapterConfig config) {
        ModelConfig mc = model.config();
        for (int i = 0; i < mc.numLayers(); i++) {
            convertLayer(model.layers().get(i), i, mc, config);
        }
        if (config.lora() != null) {
            addLora(model, config);
        }
    }

    /**
     * {@link #convert} for one layer, {@code index} being its place in the whole model (a
     * block-wise job converts only its own layers; the result is the same as converting all).
     */
    public static void convertLayer(DecoderLayer layer, int index, ModelConfig mc, AdapterConfig config) {
        if (!config.converts(index)) {
            layer.setAttention(layer.softmaxAttention());
            return;
        }
        FeatureMap fq = FeatureMap.identity(config.featureMap(), mc.numHeads(), mc.headDim(), config.featureDim(), config.featureMapBias());
        FeatureMap fk = FeatureMap.identity(config.featureMap(), mc.numHeads(), mc.headDim(), config.featureDim(), config.featureMapBias());
        Tensor factors = Tensors.full(Tensors.F32, HybridParams.INITIAL_WINDOW_LOGIT, 1, mc.numHeads(), 1, 1);
        install(layer, config, fq, fk, factors, mc.groupSize());
    }

    /**
     * Attaches fresh LoRA updates ({@code config.lora()}) to the target projections of every
     * converted layer: A Kaiming-uniform (as PEFT), B zero, so the model's outputs do not change
     * until B trains. Layers kept as softmax get none, as in the reference (its finetune config
     * sets {@code layers_to_ignore} to the softmax layers, which PEFT leaves out through
     * {@code layers_to_transform}).
     */
    public static void addLora(DecoderModel model, AdapterConfig config) {
        LoraConfig lora = config.lora();
        if (lora == null) {
            throw new IllegalArgumentException("addLora: the adapter config has no LoRA settings");
        }
        for (int i = 0; i < model.layers().size(); i++) {
            if (!config.converts(i)) {
                continue;
            }
            DecoderLayer layer = model.layers().get(i);
            for (String target : lora.targets()) {
                Projection p = layer.projection(target);
                double bound = 1.0 / Math.sqrt(p.inFeatures());
                Tensor a = torch.rand(new long[] {lora.rank(), p.inFeatures()}, Tensors.options(Tensors.F32))
                        .mul(Tensors.scalar(2 * bound)).sub(Tensors.scalar(bound));
                Tensor b = Tensors.zeros(Tensors.F32, p.outFeatures(), lora.rank());
                p.setLora(new Lora(a, b, lora.scale(), lora.dropout()));
            }
        }
    }

    /** Reads an adapter folder and applies it to the model; returns its config. */
    public static AdapterConfig load(DecoderModel model, Path dir) {
        AdapterConfig config = AdapterConfigJson.read(dir);
        Path file = dev.lolcats4j.io.InputFiles.refuseSpecial(dir.resolve(WEIGHTS_FILE));
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": not found (adapter weights)");
        }
        ModelConfig mc = model.config();
        for (int layer : config.softmaxLayers()) {
            if (layer >= mc.numLayers()) {
                throw BadInputException.at(dir.resolve(AdapterConfigJson.FILE_NAME), "softmax_layers",
                        "layer " + layer + " does not exist (model has " + mc.numLayers() + ")");
            }
        }
        try (SafetensorsFile weights = SafetensorsFile.open(file)) {
            apply(model, config, new TensorSource(name -> file, weights.tensors().keySet(), weights::get));
        }
        return config;
    }

    /** Applies named adapter tensors (reference names) to the model, checking every shape. */
    public static void apply(DecoderModel model, AdapterConfig config, TensorSource source) {
        ModelConfig mc = model.config();
        Set<String> used = new HashSet<>();
        int h = mc.numHeads();
        int d = mc.headDim();
        for (int i = 0; i < mc.numLayers(); i++) {
            DecoderLayer layer = model.layers().get(i);
            if (!config.converts(i)) {
                layer.setAttention(layer.softmaxAttention());
                continue;
            }
            String p = "model.layers." + i + ".self_attn.";
            Tensor wq = source.take(p + "feature_map_q.mlp.layer", used, h, d, config.featureDim());
            Tensor wk = source.take(p + "feature_map_k.mlp.layer", used, h, d, config.featureDim());
            Tensor bq = config.featureMapBias() ? source.take(p + "feature_map_q.mlp.bias", used, 1, h, 1, 1) : null;
            Tensor bk = config.featureMapBias() ? source.take(p + "feature_map_k.mlp.bias", used, 1, h, 1, 1) : null;
            Tensor factors = source.take(p + "window_factors", used, 1, h, 1, 1);
            install(layer, config, new FeatureMap(config.featureMap(), wq, bq), new FeatureMap(config.featureMap(), wk, bk),
                    factors, mc.groupSize());
        }
        if (config.lora() != null) {
            int r = config.lora().rank();
            for (int i = 0; i < mc.numLayers(); i++) {
                for (String target : config.lora().targets()) {
                    Projection proj = model.layers().get(i).projection(target);
                    String p = loraPrefix(i, target);
                    // Softmax layers carry no LoRA when trained here or by the reference; an
                    // adapter that has it there anyway (trained with LoRA on every layer) is
                    // applied as given. Converted layers must have theirs.
                    if (!config.converts(i) && !source.names().contains(p + ".lora_A.default.weight")
                            && !source.names().contains(p + ".lora_B.default.weight")) {
                        continue;
                    }
                    Tensor a = source.take(p + ".lora_A.default.weight", used, r, proj.inFeatures());
                    Tensor b = source.take(p + ".lora_B.default.weight", used, proj.outFeatures(), r);
                    proj.setLora(new Lora(a, b, config.lora().scale(), config.lora().dropout()));
                }
            }
        }
        Set<String> extra = new HashSet<>(source.names());
        extra.removeAll(used);
        if (!extra.isEmpty()) {
            String first = extra.stream().sorted().findFirst().orElseThrow();
            throw BadInputException.at(source.fileOf().apply(first), first,
                    "tensor not used by lolcats_config.json (" + extra.size() + " unused; check attention/lora/softmax_layers)");
        }
    }

    /**
     * Gives every LoLCATs layer a sparse cache of {@code cacheSize} pairs per key/value head (0
     * removes it), keeping its trained parameters: the cache needs no training.
     *
     * @throws BadInputException if the model has no LoLCATs layer or its attention is not hybrid_sw
     */
    public static void setSparseCache(DecoderModel model, int cacheSize) {
        if (cacheSize < 0) {
            throw new BadInputException("--sparse-cache: expected >= 0 pairs, found " + cacheSize);
        }
        int converted = 0;
        for (DecoderLayer layer : model.layers()) {
            if (layer.attention() instanceof HybridAttention hybrid) {
                if (cacheSize > 0 && hybrid.params().kind() != AttentionKind.HYBRID_SW) {
                    throw new BadInputException("--sparse-cache: needs hybrid_sw attention, the adapter has "
                            + hybrid.params().kind().configName());
                }
                layer.setAttention(hybrid.withSparseCache(cacheSize));
                converted++;
            }
        }
        if (converted == 0 && cacheSize > 0) {
            throw new BadInputException("--sparse-cache: the model has no LoLCATs layer (give --adapter DIR)");
        }
    }

    /**
     * Training's choice of block products: bf16 when the layers' matmuls run in bf16 (the CPU
     * runs bf16 GEMMs natively and faster, see {@code --dtype auto}), else the inputs' dtype.
     * Sets it on every LoLCATs layer and returns it.
     */
    public static BlockProducts useTrainingBlockProducts(java.util.List<DecoderLayer> layers) {
        boolean bf16 = !layers.isEmpty()
                && Tensors.same(layers.get(0).projection("q_proj").matmulScalarType(), Tensors.BF16);
        BlockProducts products = bf16 ? BlockProducts.BF16 : BlockProducts.INPUT;
        for (DecoderLayer layer : layers) {
            if (layer.attention() instanceof HybridAttention hybrid) {
                layer.setAttention(hybrid.withBlockProducts(products));
            }
        }
        return products;
    }

    /** Writes adapter.safetensors and lolcats_config.json, each atomically. */
    public static void save(DecoderModel model, AdapterConfig config, Path dir) {
        AtomicFiles.createDirectories(dir);
        Map<String, TensorData> data = new LinkedHashMap<>();
        tensors(model, config).forEach((name, t) -> data.put(name, Tensors.toData(t.to(Tensors.F32))));
        SafetensorsWriter.write(dir.resolve(WEIGHTS_FILE), data, Map.of("format", "pt", "producer", "lolcats4j"));
        AtomicFiles.writeString(dir.resolve(AdapterConfigJson.FILE_NAME), AdapterConfigJson.toJson(config));
    }

    /** The adapter's tensors under their reference names, in a stable order. */
    public static Map<String, Tensor> tensors(DecoderModel model, AdapterConfig config) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (int i = 0; i < model.layers().size(); i++) {
            out.putAll(layerTensors(model.layers().get(i), i));
        }
        if (config.lora() != null) {
            for (int i = 0; i < model.layers().size(); i++) {
                for (String target : config.lora().targets()) {
                    Lora lora = model.layers().get(i).projection(target).lora();
                    if (lora != null) {
                        out.put(loraPrefix(i, target) + ".lora_A.default.weight", lora.a());
                        out.put(loraPrefix(i, target) + ".lora_B.default.weight", lora.b());
                    }
                }
            }
        }
        return out;
    }

    /** One layer's feature-map and window-factor tensors under their reference names (empty for softmax layers). */
    public static Map<String, Tensor> layerTensors(DecoderLayer layer, int index) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (layer.attention() instanceof HybridAttention hybrid) {
            HybridParams hp = hybrid.params();
            String p = "model.layers." + index + ".self_attn.";
            out.put(p + "feature_map_q.mlp.layer", hp.featureQ().weight());
            out.put(p + "feature_map_k.mlp.layer", hp.featureK().weight());
            if (hp.featureQ().bias() != null) {
                out.put(p + "feature_map_q.mlp.bias", hp.featureQ().bias());
                out.put(p + "feature_map_k.mlp.bias", hp.featureK().bias());
            }
            out.put(p + "window_factors", hp.windowFactors());
        }
        return out;
    }

    static String loraPrefix(int layer, String target) {
        return "base_model.model.model.layers." + layer + ".self_attn." + target;
    }

    private static void install(DecoderLayer layer, AdapterConfig config, FeatureMap fq, FeatureMap fk, Tensor factors, int group) {
        HybridParams params = new HybridParams(config.attention(), config.windowSize(), fq, fk, factors, config.affineAttentionFactors());
        layer.setAttention(new HybridAttention(params, group, config.sparseCache()));
    }

    /**
     * Named adapter tensors (from adapter.safetensors or imported .pt files).
     *
     * @param fileOf the file a tensor comes from (or would, when missing), for error messages
     */
    public record TensorSource(java.util.function.Function<String, Path> fileOf, Set<String> names,
            java.util.function.Function<String, TensorData> reader) {

        Tensor take(String name, Set<String> used, long... shape) {
            if (!names.contains(name)) {
                throw BadInputException.at(fileOf.apply(name), name, "tensor missing (expected shape " + Arrays.toString(shape) + ")");
            }
            TensorData data = reader.apply(name);
            if (!Arrays.equals(data.shape(), shape)) {
                throw BadInputException.at(fileOf.apply(name), name, "expected shape " + Arrays.toString(shape)
                        + " for this model, found " + Arrays.toString(data.shape()));
            }
            used.add(name);
            return Tensors.requireFinite(Tensors.fromData(data).to(Tensors.F32), fileOf.apply(name), name);
        }
    }
}
