package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.AttentionKind;
import dev.lolcats4j.lolcats.FeatureMapKind;
import dev.lolcats4j.lolcats.LoraConfig;
import dev.lolcats4j.model.ModelConfigReader;
import dev.lolcats4j.tokenizer.Tokenizer;
import dev.lolcats4j.train.LinearizeOptions;
import dev.lolcats4j.train.Linearization;
import dev.lolcats4j.train.TrainListener;
import dev.lolcats4j.train.blockwise.BlockJobSpec;
import dev.lolcats4j.train.blockwise.BlockProgress;
import dev.lolcats4j.train.blockwise.BlockResult;
import dev.lolcats4j.train.blockwise.HiddenStateCache;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
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

    @Option(names = "--attention", defaultValue = "hybrid_sw", description = "hybrid_sw | hybrid_tk | linear (default: ${DEFAULT-VALUE}).")
    String attention;

    @Option(names = "--feature-map", defaultValue = "softmax_dim", description = "softmax_dim | exp_dim | relu | pos_elu (default: ${DEFAULT-VALUE}).")
    String featureMap;

    @Option(names = "--feature-dim", defaultValue = "64", description = "F, per-head feature dimension (default: ${DEFAULT-VALUE}).")
    int featureDim;

    @Option(names = {"--window", "--window-size"}, defaultValue = "64", description = "W, sliding-window size (default: ${DEFAULT-VALUE}).")
    int window;

    @Option(names = "--affine", description = "Linear factor 1 - gamma instead of 1.")
    boolean affine;

    @Option(names = "--feature-map-bias", description = "Learn a per-head bias in the feature maps.")
    boolean featureMapBias;

    @Option(names = "--softmax-layers", split = ",", paramLabel = "I,J", description = "Layers to keep as softmax attention.")
    List<Integer> softmaxLayers = new ArrayList<>();

    @Option(names = "--transfer-steps", paramLabel = "N", description = "Stage-1 optimiser steps (default: 2 epochs of the data).")
    Integer transferSteps;

    @Option(names = "--transfer-lr", defaultValue = "1e-2", description = "Stage-1 learning rate (default: ${DEFAULT-VALUE}).")
    double transferLr;

    @Option(names = "--attention-xent", defaultValue = "0", paramLabel = "WEIGHT",
            description = "Weight of the stage-1 attention cross-entropy term (default: ${DEFAULT-VALUE} = off; quadratic memory in --seq-len).")
    double attentionXent;

    @Option(names = "--lora-steps", paramLabel = "N", description = "Stage-2 optimiser steps (default: 1 epoch of the data).")
    Integer loraSteps;

    @Option(names = "--lora-lr", defaultValue = "1e-4", description = "Stage-2 learning rate (default: ${DEFAULT-VALUE}).")
    double loraLr;

    @Option(names = "--lora-rank", defaultValue = "8", description = "LoRA rank r (default: ${DEFAULT-VALUE}).")
    int loraRank;

    @Option(names = "--lora-alpha", defaultValue = "16", description = "LoRA alpha; scale = alpha / r (default: ${DEFAULT-VALUE}).")
    double loraAlpha;

    @Option(names = "--lora-dropout", defaultValue = "0", description = "LoRA dropout on the adapter input during training (default: ${DEFAULT-VALUE}).")
    double loraDropout;

    @Option(names = "--lora-targets", split = ",", defaultValue = "q_proj,k_proj,v_proj,o_proj",
            description = "Projections that get LoRA (default: ${DEFAULT-VALUE}).")
    List<String> loraTargets;

    @Option(names = "--train-feature-maps", description = "Keep training feature maps and window factors in stage 2.")
    boolean trainFeatureMaps;

    @Option(names = "--batch", defaultValue = "8", description = "Sequences per optimiser step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--micro-batch", defaultValue = "1", description = "Sequences per forward pass; --batch / this = gradient accumulation (default: ${DEFAULT-VALUE}).")
    int microBatch;

    @Option(names = "--weight-decay", defaultValue = "0", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--eval-every", defaultValue = "100", description = "Held-out evaluation every N steps (default: ${DEFAULT-VALUE}).")
    int evalEvery;

    @Option(names = "--eval-batches", defaultValue = "8", description = "Held-out sequences per evaluation (default: ${DEFAULT-VALUE}).")
    int evalBatches;

    @Option(names = "--patience", defaultValue = "10", description = "Reduce-on-plateau patience, in evaluations (default: ${DEFAULT-VALUE}).")
    int patience;

    @Option(names = "--checkpoint-every", defaultValue = "100", description = "Resumable checkpoint every N steps (default: ${DEFAULT-VALUE}).")
    int checkpointEvery;

    @Option(names = "--seed", defaultValue = "42", description = "Seed for initialisation (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--blockwise", paramLabel = "K",
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

    @Option(names = "--parallel-blocks", defaultValue = "1", paramLabel = "N",
            description = "Blocks trained at once by the local runner (default: ${DEFAULT-VALUE}).")
    int parallelBlocks;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter stdout = spec.commandLine().getOut();
        if (blockwise == null && (cache != null || master != null || !runner.equals("local") || parallelBlocks != 1)) {
            throw new BadInputException("--runner, --master, --cache and --parallel-blocks: only apply with --blockwise K");
        }
        boolean runTransfer = stage.equals("all") || stage.equals("transfer");
        model.validate();
        LinearizeOptions options = new LinearizeOptions(model.modelDir(), model.computeType(), model.adapter, out, stage, resume,
                runTransfer ? adapterConfig() : AdapterConfig.defaults(),
                new LoraConfig(loraRank, loraAlpha, loraDropout, loraTargets), transferSteps, transferLr, attentionXent,
                loraSteps, loraLr, trainFeatureMaps, batch, microBatch, weightDecay, evalEvery, evalBatches, patience,
                checkpointEvery, seed,
                blockwise == null ? null : new LinearizeOptions.Blockwise(blockwise, runner, master, cache, parallelBlocks,
                        HiddenStateCache.DEFAULT_SHARD_BYTES));
        // Every option is checked (against config.json too) before the data or any weights are read.
        options.validate(ModelConfigReader.read(model.modelDir()));
        Tokenizer tokenizer = model.tokenizer().orElseThrow(() -> new BadInputException(
                model.modelDir().resolve("tokenizer.json") + ": not found; linearize needs the model's tokenizer to read --data"));
        PackedDataset dataset = data.load(tokenizer, err);
        Linearization.Result result = Linearization.run(options, dataset, new Linearization.Listener() {
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
        });
        result.summary().forEach(stdout::println);
        stdout.println("adapter written to " + out + " (use: lolcats score --model " + model.modelDir() + " --adapter " + out + " ...)");
        stdout.flush();
        return Main.EXIT_OK;
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
