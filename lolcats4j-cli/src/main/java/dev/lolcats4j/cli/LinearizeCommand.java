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
import dev.lolcats4j.train.LinearizeOptions;
import dev.lolcats4j.train.Linearization;
import dev.lolcats4j.train.TrainListener;
import dev.lolcats4j.train.blockwise.BlockJobSpec;
import dev.lolcats4j.train.blockwise.BlockProgress;
import dev.lolcats4j.train.blockwise.BlockResult;
import dev.lolcats4j.train.blockwise.HiddenStateCache;
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

    @Option(names = "--blockwise", converter = Flags.Positive.class, paramLabel = "K",
            description = "Block-wise stage 1: train blocks of K layers independently from cached teacher hidden states "
                    + "(needs memory for K layers, not the whole model). Default: joint stage 1.")
    Integer blockwise;

    @Option(names = "--runner", defaultValue = "local", paramLabel = "local|spark",
            description = "Where block jobs run with --blockwise: local (this process) or spark (needs lolcats4j-spark on the classpath) "
                    + "(default: ${DEFAULT-VALUE}).")
    String runner;

    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master URL for --runner spark (default local[*]; spark://HOST:PORT for a cluster).")
    String master;

    @Option(names = "--cache", paramLabel = "DIR",
            description = "Hidden-state cache folder for --blockwise (default: OUT/cache); on a cluster, a path every executor sees. "
                    + "An existing cache of the same model and data is reused.")
    Path cache;

    @Option(names = "--parallel-blocks", converter = Flags.Positive.class, defaultValue = "1", paramLabel = "N",
            description = "Blocks trained at once by the local runner (default: ${DEFAULT-VALUE}).")
    int parallelBlocks;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter stdout = spec.commandLine().getOut();
        data.validate();
        if (blockwise == null && (cache != null || master != null || !runner.equals("local") || parallelBlocks != 1)) {
            throw new BadInputException("--runner, --master, --cache and --parallel-blocks: only apply with --blockwise K");
        }
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
        // The pipeline's own checks (block size, runner settings, --cache...) also run before anything is written.
        options(out, config, runTransfer).validate(ModelConfigReader.read(model.modelDir()));
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
        PackedDataset dataset = data.load(tokenizer, err);
        // Only now: an input error must stay the only line on stderr.
        err.println("linearize: matmuls in " + model.decision().reason());
        Linearization.Result result = Linearization.run(options(dir, config, runTransfer), dataset, new Linearization.Listener() {
            @Override
            public void message(String line) {
                err.println(line);
                err.flush();
            }

            @Override
            public TrainListener stage(String label) {
                return new ProgressLine(err, label);
            }

            @Override
            public BlockProgress blocks() {
                return new BlockProgress() {
                    @Override
                    public void onBlockFinished(BlockJobSpec job, BlockResult r) {
                    }

                    @Override
                    public void onMessage(String line) {
                        message(line);
                    }
                };
            }
        }, identity);
        result.summary().forEach(stdout::println);
        stdout.println("adapter written to " + out + " (use: lolcats score --model " + model.modelDir() + " --adapter " + out + " ...)");
        stdout.flush();
        return Main.EXIT_OK;
    }

    /** The pipeline's options, writing into {@code dir}; {@code config} is the conversion (or the --adapter's for --stage lora). */
    private LinearizeOptions options(Path dir, AdapterConfig config, boolean runTransfer) {
        return new LinearizeOptions(model.modelDir(), model.computeType(), model.adapter, dir, stage, resume,
                runTransfer ? config : AdapterConfig.defaults(),
                new LoraConfig(loraRank, loraAlpha, loraDropout, loraTargets), transferSteps, transferLr, attentionXent,
                loraSteps, loraLr, trainFeatureMaps, batch, microBatch, weightDecay, evalEvery, evalBatches, patience,
                checkpointEvery, seed,
                blockwise == null ? null : new LinearizeOptions.Blockwise(blockwise, runner, master, cache, parallelBlocks,
                        HiddenStateCache.DEFAULT_SHARD_BYTES));
    }

    /**
     * Every check that needs the model's config.json (read alone, before any weight): layer
     * indices, the batch split, and whether training fits in memory. Runs before stage 1, so
     * a bad stage-2 option cannot waste a stage-1 run.
     */
    private void validateAgainstModel(AdapterConfig config, boolean runLora) {
        model.validate();
        data.validate();
        model.rowsPerGemm((long) microBatch * data.sequenceLength);
        ModelConfig mc = ModelConfigReader.read(model.modelDir());
        Path configFile = model.modelDir().resolve("config.json");
        if (new java.util.HashSet<>(config.softmaxLayers()).size() != config.softmaxLayers().size()) {
            throw new BadInputException("--softmax-layers: a layer is listed twice in " + config.softmaxLayers());
        }
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

    private AdapterConfig adapterConfig() {
        if (featureDim < 1 || window < 1) {
            throw new BadInputException("--feature-dim and --window: expected positive integers");
        }
        Path flags = Path.of("command line");
        return new AdapterConfig(AttentionKind.parse(attention, flags), FeatureMapKind.parse(featureMap, flags), featureDim,
                window, affine, featureMapBias, softmaxLayers, null);
    }

}
