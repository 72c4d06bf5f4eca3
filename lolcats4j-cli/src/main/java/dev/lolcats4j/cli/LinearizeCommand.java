package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.io.Checksums;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.lolcats.AttentionKind;
import dev.lolcats4j.lolcats.FeatureMapKind;
import dev.lolcats4j.lolcats.LoraConfig;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.MemoryEstimate;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.ModelConfigReader;
import dev.lolcats4j.tokenizer.Tokenizer;
import dev.lolcats4j.train.AttentionTransfer;
import dev.lolcats4j.train.LoraFinetune;
import dev.lolcats4j.train.Objective;
import dev.lolcats4j.train.TrainConfig;
import dev.lolcats4j.train.TrainLoop;
import dev.lolcats4j.train.TrainResult;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.global.torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lolcats linearize}: base model folder in, LoLCATs adapter folder out. Stage 1
 * (attention transfer) trains feature maps and window factors against the softmax teacher;
 * stage 2 trains LoRA with next-token loss. Reference defaults throughout.
 */
@Command(name = "linearize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Turn a model's softmax attention into LoLCATs hybrid attention: stage 1 attention transfer, "
                + "stage 2 LoRA. Writes an adapter folder (adapter.safetensors + lolcats_config.json) to --out, "
                + "with per-stage training folders (metrics.csv, loss.png, checkpoints) inside it."})
public final class LinearizeCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Mixin
    DataOptions data;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Adapter folder to write.")
    Path out;

    @Option(names = "--stage", defaultValue = "all", paramLabel = "transfer|lora|all",
            description = "Which stages to run (default: ${DEFAULT-VALUE}); 'lora' needs --adapter with a stage-1 adapter.")
    String stage;

    @Option(names = "--resume", description = "Continue an interrupted run from the checkpoints in --out.")
    boolean resume;

    @Option(names = "--force", description = "Replace a non-empty --out folder (its old content is deleted when the run succeeds).")
    boolean force;

    @Option(names = "--attention", defaultValue = "hybrid_sw", description = "hybrid_sw | hybrid_tk | linear (default: ${DEFAULT-VALUE}).")
    String attention;

    @Option(names = "--feature-map", defaultValue = "softmax_dim", description = "softmax_dim | exp_dim | relu | pos_elu (default: ${DEFAULT-VALUE}).")
    String featureMap;

    @Option(names = "--feature-dim", converter = Flags.FeatureDim.class, defaultValue = "64", description = "F, per-head feature dimension (default: ${DEFAULT-VALUE}).")
    int featureDim;

    @Option(names = {"--window", "--window-size"}, converter = Flags.Window.class, defaultValue = "64", description = "W, sliding-window size (default: ${DEFAULT-VALUE}).")
    int window;

    @Option(names = "--affine", description = "Linear factor 1 - gamma instead of 1.")
    boolean affine;

    @Option(names = "--feature-map-bias", description = "Learn a per-head bias in the feature maps.")
    boolean featureMapBias;

    @Option(names = "--softmax-layers", converter = Flags.LayerIndex.class, split = ",", paramLabel = "I,J", description = "Layers to keep as softmax attention.")
    List<Integer> softmaxLayers = new ArrayList<>();

    @Option(names = "--transfer-steps", converter = Flags.Positive.class, paramLabel = "N", description = "Stage-1 optimiser steps (default: 2 epochs of the data).")
    Integer transferSteps;

    @Option(names = "--transfer-lr", converter = Flags.PositiveReal.class, defaultValue = "1e-2", description = "Stage-1 learning rate (default: ${DEFAULT-VALUE}).")
    double transferLr;

    @Option(names = "--attention-xent", converter = Flags.NonNegativeReal.class, defaultValue = "0", paramLabel = "WEIGHT",
            description = "Weight of the stage-1 attention cross-entropy term (default: ${DEFAULT-VALUE} = off; quadratic memory in --seq-len).")
    double attentionXent;

    @Option(names = "--lora-steps", converter = Flags.Positive.class, paramLabel = "N", description = "Stage-2 optimiser steps (default: 1 epoch of the data).")
    Integer loraSteps;

    @Option(names = "--lora-lr", converter = Flags.PositiveReal.class, defaultValue = "1e-4", description = "Stage-2 learning rate (default: ${DEFAULT-VALUE}).")
    double loraLr;

    @Option(names = "--lora-rank", converter = Flags.Rank.class, defaultValue = "8", description = "LoRA rank r (default: ${DEFAULT-VALUE}).")
    int loraRank;

    @Option(names = "--lora-alpha", converter = Flags.PositiveReal.class, defaultValue = "16", description = "LoRA alpha; scale = alpha / r (default: ${DEFAULT-VALUE}).")
    double loraAlpha;

    @Option(names = "--lora-dropout", converter = Flags.Fraction.class, defaultValue = "0", description = "LoRA dropout on the adapter input during training (default: ${DEFAULT-VALUE}).")
    double loraDropout;

    @Option(names = "--lora-targets", split = ",", converter = Flags.LoraTarget.class, defaultValue = "q_proj,k_proj,v_proj,o_proj",
            description = "Projections that get LoRA (default: ${DEFAULT-VALUE}).")
    List<String> loraTargets;

    @Option(names = "--train-feature-maps", description = "Keep training in stage 2 what stage 1 trains: feature maps (and their biases) and window factors.")
    boolean trainFeatureMaps;

    @Option(names = "--batch", converter = Flags.Positive.class, defaultValue = "8", description = "Sequences per optimiser step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--micro-batch", converter = Flags.Positive.class, defaultValue = "1", description = "Sequences per forward pass; --batch / this = gradient accumulation (default: ${DEFAULT-VALUE}).")
    int microBatch;

    @Option(names = "--weight-decay", converter = Flags.NonNegativeReal.class, defaultValue = "0", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--eval-every", converter = Flags.Positive.class, defaultValue = "100", description = "Held-out evaluation every N steps (default: ${DEFAULT-VALUE}).")
    int evalEvery;

    @Option(names = "--eval-batches", converter = Flags.Positive.class, defaultValue = "8", description = "Held-out sequences per evaluation (default: ${DEFAULT-VALUE}).")
    int evalBatches;

    @Option(names = "--patience", converter = Flags.Positive.class, defaultValue = "10", description = "Reduce-on-plateau patience, in evaluations (default: ${DEFAULT-VALUE}).")
    int patience;

    @Option(names = "--checkpoint-every", converter = Flags.Positive.class, defaultValue = "100", description = "Resumable checkpoint every N steps (default: ${DEFAULT-VALUE}).")
    int checkpointEvery;

    @Option(names = "--seed", converter = Flags.Seed.class, defaultValue = "42", description = "Seed for initialisation (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter stdout = spec.commandLine().getOut();
        data.validate();
        boolean runTransfer = stage.equals("all") || stage.equals("transfer");
        boolean runLora = stage.equals("all") || stage.equals("lora");
        if (!runTransfer && !runLora) {
            throw new BadInputException("--stage: expected transfer, lora or all, found \"" + stage + "\"");
        }
        if (loraDropout < 0 || loraDropout >= 1) {
            throw new BadInputException("--lora-dropout: expected a probability in [0, 1), found " + loraDropout);
        }
        if (!runTransfer && model.adapter == null) {
            throw new BadInputException("--stage lora: needs --adapter DIR with a stage-1 adapter");
        }
        AdapterConfig config = runTransfer ? adapterConfig() : AdapterConfigJson.read(model.adapter);
        validateAgainstModel(config, runLora);
        OutputFolder output = OutputFolder.of("--out", out).force(force).resume(resume, "stage1", "stage2")
                .inputs("--model", model.modelDir()).inputs("--adapter", model.adapter).inputs("--data", data.files);
        output.check();
        return output.writeInPlace(dir -> run(dir, config, runTransfer, runLora, err, stdout));
    }

    private int run(Path dir, AdapterConfig config, boolean runTransfer, boolean runLora, PrintWriter err, PrintWriter stdout) {
        Map<String, String> identity = RunIdentity.of(spec);
        if (resume) {
            TrainLoop.checkResume(dir.resolve("stage1"), identity);
            TrainLoop.checkResume(dir.resolve("stage2"), identity);
        }
        Tokenizer tokenizer = model.tokenizer().orElseThrow(() -> new BadInputException(
                model.modelDir().resolve("tokenizer.json") + ": not found; linearize needs the model's tokenizer to read --data"));
        // The teacher is the base model: an adapter, if given, is applied by the stages themselves.
        DecoderModel m = model.loadBase(err);
        PackedDataset dataset = data.load(tokenizer, err);
        List<String> summary = new ArrayList<>();
        if (runTransfer) {
            torch.manual_seed(seed);
            Adapters.convert(m, config.withLora(null));
            int steps = transferSteps != null ? transferSteps : defaultSteps(dataset, 2);
            TrainResult r = train("stage 1", new AttentionTransfer(m, config.withLora(null), attentionXent), dataset, steps, transferLr,
                    dir.resolve("stage1"), identity, err);
            summary.add(String.format(Locale.ROOT, "stage 1 (attention transfer): %d steps, %,d tokens, best held-out loss %.5f at step %d, %s",
                    r.steps(), r.trainTokens(), r.bestEvalLoss(), r.bestStep(), ProgressLine.duration(r.seconds())));
            Adapters.load(m, dir.resolve("stage1/best"));
            copyAdapter(dir.resolve("stage1/best"), dir);
        } else {
            Adapters.load(m, model.adapter);
        }
        if (runLora) {
            LoraConfig lora = new LoraConfig(loraRank, loraAlpha, loraDropout, loraTargets);
            for (String target : loraTargets) {
                if (!LoraConfig.ALL_TARGETS.contains(target)) {
                    throw new BadInputException("--lora-targets: expected names from " + LoraConfig.ALL_TARGETS + ", found \"" + target + "\"");
                }
            }
            AdapterConfig withLora = AdapterConfigJson.read(runTransfer ? dir : model.adapter).withLora(lora);
            Map<String, String> stage2Identity = new LinkedHashMap<>(identity);
            if (runTransfer) {
                // Stage 2 starts from stage 1's result: a resumed stage 2 must start from the same one.
                stage2Identity.put("stage-1 adapter", Checksums.path(dir.resolve("stage1/best")));
            }
            torch.manual_seed(seed + 1);
            Adapters.addLora(m, withLora);
            int steps = loraSteps != null ? loraSteps : defaultSteps(dataset, 1);
            TrainResult r = train("stage 2", new LoraFinetune(m, withLora, trainFeatureMaps), dataset, steps, loraLr,
                    dir.resolve("stage2"), stage2Identity, err);
            summary.add(String.format(Locale.ROOT, "stage 2 (LoRA): %d steps, %,d tokens, best held-out loss %.5f (perplexity %.3f) at step %d, %s",
                    r.steps(), r.trainTokens(), r.bestEvalLoss(), Math.exp(r.bestEvalLoss()), r.bestStep(), ProgressLine.duration(r.seconds())));
            copyAdapter(dir.resolve("stage2/best"), dir);
        }
        summary.forEach(stdout::println);
        stdout.println("adapter written to " + out + " (use: lolcats score --model " + model.modelDir() + " --adapter " + out + " ...)");
        stdout.flush();
        return Main.EXIT_OK;
    }

    /**
     * Every check that needs the model's config.json (read alone, before any weight): layer
     * indices, the batch split, and whether training fits in memory. Runs before stage 1, so
     * a bad stage-2 option cannot waste a stage-1 run.
     */
    private void validateAgainstModel(AdapterConfig config, boolean runLora) {
        model.validate();
        data.validate();
        ModelConfig mc = ModelConfigReader.read(model.modelDir());
        Path configFile = model.modelDir().resolve("config.json");
        for (int layer : config.softmaxLayers()) {
            if (layer >= mc.numLayers()) {
                throw new BadInputException("--softmax-layers: expected layer indices in [0, " + (mc.numLayers() - 1)
                        + "] (" + configFile + " has num_hidden_layers " + mc.numLayers() + "), found " + layer);
            }
        }
        if (microBatch > batch || batch % microBatch != 0) {
            throw new BadInputException("--micro-batch: expected a divisor of --batch (" + batch + "), found " + microBatch);
        }
        if (runLora && new java.util.HashSet<>(loraTargets).size() != loraTargets.size()) {
            throw new BadInputException("--lora-targets: a projection is listed twice in " + String.join(",", loraTargets));
        }
        MemoryEstimate.checkModelFits(mc, configFile, model.computeType());
        MemoryEstimate.checkTrainingFits(mc, configFile, model.computeType(), false, data.sequenceLength, microBatch, attentionXent);
    }

    private TrainResult train(String label, Objective objective, PackedDataset dataset, int steps, double lr, Path dir,
            Map<String, String> identity, PrintWriter err) {
        TrainConfig config = new TrainConfig(steps, lr, weightDecay, batch, microBatch, "plateau", 0, 1e-5, 0.1, patience, 0,
                evalEvery, evalBatches, checkpointEvery, seed);
        err.printf(Locale.ROOT, "[%s] %d steps of %d sequences x %d tokens, lr %.1e%n", label, steps, batch,
                dataset.train().get(0).tokens().length - 1, lr);
        return new TrainLoop(objective, dataset, config, dir, new ProgressLine(err, label), identity).run(resume);
    }

    private int defaultSteps(PackedDataset dataset, int epochs) {
        return Math.max(1, (int) Math.ceil((double) dataset.train().size() * epochs / batch));
    }

    private AdapterConfig adapterConfig() {
        if (featureDim < 1 || window < 1) {
            throw new BadInputException("--feature-dim and --window: expected positive integers");
        }
        Path flags = Path.of("command line");
        return new AdapterConfig(AttentionKind.parse(attention, flags), FeatureMapKind.parse(featureMap, flags), featureDim,
                window, affine, featureMapBias, softmaxLayers, null);
    }

    private static void copyAdapter(Path from, Path to) {
        for (String name : new String[] {Adapters.WEIGHTS_FILE, AdapterConfigJson.FILE_NAME}) {
            Path source = from.resolve(name);
            AtomicFiles.write(to.resolve(name), stream -> Files.copy(source, stream));
        }
    }

}
