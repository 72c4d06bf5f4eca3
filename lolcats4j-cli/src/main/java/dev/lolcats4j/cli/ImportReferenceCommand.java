package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import dev.lolcats4j.lolcats.AttentionKind;
import dev.lolcats4j.lolcats.FeatureMapKind;
import dev.lolcats4j.lolcats.LoraConfig;
import dev.lolcats4j.lolcats.ReferenceImport;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelLoader;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lolcats import-reference}: the reference implementation's .pt checkpoints to an adapter folder. */
@Command(name = "import-reference", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Import HazyResearch/lolcats torch.save checkpoints ({'model_state_dict': ...}) into an",
            "adapter folder (adapter.safetensors + lolcats_config.json). Describe them with --config or the",
            "flags below; with --model every tensor is checked against that model before anything is written."})
final class ImportReferenceCommand implements Callable<Integer> {

    @Option(names = "--distill", required = true, paramLabel = "F.pt",
            description = "Stage-1 (attention transfer) checkpoint: feature maps, window factors.")
    Path distill;

    @Option(names = "--lora", paramLabel = "F.pt", description = "Stage-2 (LoRA finetune) checkpoint.")
    Path lora;

    @Option(names = "--config", paramLabel = "F",
            description = "A lolcats_config.json describing the checkpoints (instead of the flags below).")
    Path config;

    @Option(names = "--attention", paramLabel = "KIND", description = "hybrid_sw | hybrid_tk | linear (default: hybrid_sw).")
    String attention;

    @Option(names = "--feature-map", paramLabel = "KIND",
            description = "softmax_dim | exp_dim | relu | pos_elu (default: softmax_dim).")
    String featureMap;

    @Option(names = "--feature-dim", converter = Flags.FeatureDim.class, paramLabel = "F", description = "Feature dimension (default: 64).")
    Integer featureDim;

    @Option(names = "--window-size", converter = Flags.Window.class, paramLabel = "W", description = "Sliding-window size (default: 64).")
    Integer windowSize;

    @Option(names = "--softmax-layers", converter = Flags.LayerIndex.class, paramLabel = "L,L", split = ",",
            description = "Layers kept as softmax attention, e.g. 0,5 (default: none).")
    List<Integer> softmaxLayers;

    @Option(names = "--lora-rank", converter = Flags.Rank.class, paramLabel = "R", description = "LoRA rank (needed with --lora unless --config).")
    Integer loraRank;

    @Option(names = "--lora-alpha", converter = Flags.PositiveReal.class, paramLabel = "A", description = "LoRA alpha; scale = alpha / rank (needed with --lora unless --config).")
    Double loraAlpha;

    @Option(names = "--model", paramLabel = "DIR", description = "Base model folder to check every shape against before writing.")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Adapter folder to write (absent or empty unless --force).")
    Path out;

    @Option(names = "--force", description = "Replace a non-empty --out folder.")
    boolean force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        requireFile("--distill", distill);
        if (lora != null) {
            requireFile("--lora", lora);
        }
        AdapterConfig adapterConfig = adapterConfig();
        if (lora == null && adapterConfig.lora() != null) {
            err.println("no --lora checkpoint: writing an adapter without LoRA (the config's \"lora\" is dropped)");
            adapterConfig = adapterConfig.withLora(null);
        }
        if (model != null) {
            ModelOptions.requireFolder("--model", model);
            int layers = dev.lolcats4j.model.ModelConfigReader.read(model).numLayers();
            for (int layer : adapterConfig.softmaxLayers()) {
                if (layer >= layers) {
                    throw new BadInputException((config != null ? config + ": softmax_layers" : "--softmax-layers")
                            + ": expected layer indices in [0, " + (layers - 1) + "] (" + model.resolve("config.json")
                            + " has num_hidden_layers " + layers + "), found " + layer);
                }
            }
        }
        OutputFolder output = OutputFolder.of("--out", out).force(force)
                .inputs("--distill", distill).inputs("--lora", lora).inputs("--config", config).inputs("--model", model);
        output.check();
        AdapterConfig finalConfig = adapterConfig;
        output.writeAtomically(tmp -> {
            DecoderModel base = null;
            if (model != null) {
                long t = System.nanoTime();
                base = ModelLoader.load(model, ComputeType.F32);
                err.printf(Locale.ROOT, "loaded %s: %s, %d layers (%.1f s); checking shapes against it%n", model,
                        base.config().modelType(), base.config().numLayers(), (System.nanoTime() - t) / 1e9);
            }
            err.printf(Locale.ROOT, "importing %s%s -> %s (%s, %s, F=%d, W=%d%s)%n", distill, lora == null ? "" : " + " + lora, out,
                    finalConfig.attention().configName(), finalConfig.featureMap().configName(), finalConfig.featureDim(),
                    finalConfig.windowSize(), finalConfig.lora() == null ? "" : ", LoRA rank " + finalConfig.lora().rank());
            err.flush();
            ReferenceImport.run(distill, lora, finalConfig, base, tmp);
            return Main.EXIT_OK;
        });
        err.println("wrote " + out);
        err.flush();
        return Main.EXIT_OK;
    }

    private AdapterConfig adapterConfig() {
        List<String> flags = new ArrayList<>();
        if (attention != null) flags.add("--attention");
        if (featureMap != null) flags.add("--feature-map");
        if (featureDim != null) flags.add("--feature-dim");
        if (windowSize != null) flags.add("--window-size");
        if (softmaxLayers != null) flags.add("--softmax-layers");
        if (loraRank != null) flags.add("--lora-rank");
        if (loraAlpha != null) flags.add("--lora-alpha");
        if (config != null) {
            if (!flags.isEmpty()) {
                throw new BadInputException("--config: give either --config or " + String.join(", ", flags) + ", not both");
            }
            Path file = Files.isDirectory(config) ? config.resolve(AdapterConfigJson.FILE_NAME) : config;
            return AdapterConfigJson.readFile(file);
        }
        AdapterConfig d = AdapterConfig.defaults();
        Path flagSource = Path.of("--attention");
        AttentionKind attentionKind = attention == null ? d.attention() : parse(() -> AttentionKind.parse(attention, flagSource),
                "--attention", attention, kindNames(AttentionKind.values()));
        FeatureMapKind mapKind = featureMap == null ? d.featureMap() : parse(() -> FeatureMapKind.parse(featureMap, flagSource),
                "--feature-map", featureMap, kindNames(FeatureMapKind.values()));
        int f = positive("--feature-dim", featureDim, d.featureDim());
        int w = positive("--window-size", windowSize, d.windowSize());
        List<Integer> layers = softmaxLayers == null ? List.of() : softmaxLayers;
        for (int layer : layers) {
            if (layer < 0) {
                throw new BadInputException("--softmax-layers: expected non-negative layer indices, found " + layer);
            }
        }
        LoraConfig loraConfig = null;
        if (lora != null) {
            if (loraRank == null || loraAlpha == null) {
                throw new BadInputException("--lora " + lora + ": needs --lora-rank and --lora-alpha (or --config)");
            }
            int r = positive("--lora-rank", loraRank, 0);
            if (!(loraAlpha > 0) || Double.isInfinite(loraAlpha)) {
                throw new BadInputException("--lora-alpha: expected a positive number, found " + loraAlpha);
            }
            loraConfig = new LoraConfig(r, loraAlpha, 0.0, LoraConfig.ALL_TARGETS);
        } else if (loraRank != null || loraAlpha != null) {
            throw new BadInputException((loraRank != null ? "--lora-rank" : "--lora-alpha") + ": given without --lora F.pt");
        }
        return new AdapterConfig(attentionKind, mapKind, f, w, false, false, layers, loraConfig);
    }

    private static <T> T parse(java.util.function.Supplier<T> parser, String flag, String value, String names) {
        try {
            return parser.get();
        } catch (BadInputException e) {
            throw new BadInputException(flag + ": expected one of " + names + ", found \"" + value + "\"");
        }
    }

    private static String kindNames(Enum<?>[] kinds) {
        List<String> names = new ArrayList<>();
        for (Enum<?> k : kinds) {
            names.add(k instanceof AttentionKind a ? a.configName() : ((FeatureMapKind) k).configName());
        }
        return String.join(", ", names);
    }

    private static int positive(String flag, Integer value, int fallback) {
        if (value == null) {
            return fallback;
        }
        if (value <= 0) {
            throw new BadInputException(flag + ": expected a positive integer, found " + value);
        }
        return value;
    }

    private static void requireFile(String flag, Path file) {
        InputText.refuseSpecial(flag, file);
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(flag + " " + file + ": " + (Files.isDirectory(file) ? "expected a file, found a folder" : "file not found"));
        }
    }
}
