package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.MemoryEstimate;
import dev.lolcats4j.model.ModelFactory;
import dev.lolcats4j.tokenizer.ByteLevelTokenizerFiles;
import dev.lolcats4j.tokenizer.HfTokenizer;
import dev.lolcats4j.tokenizer.Tokenizer;
import dev.lolcats4j.train.Pretraining;
import dev.lolcats4j.train.TrainConfig;
import dev.lolcats4j.train.TrainLoop;
import dev.lolcats4j.train.TrainResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lolcats pretrain}: a small Llama from scratch, so that there is a real teacher to
 * linearize without a model hub. Writes a Hugging Face folder (config.json, model.safetensors,
 * tokenizer.json) that score, generate and linearize accept.
 */
@Command(name = "pretrain", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Pretrain a small Llama from scratch (AdamW, warmup + cosine, gradient clipping, "
                + "float32 master weights, matmuls in the --dtype this CPU runs fastest). The model folder goes to --out; training "
                + "state (metrics.csv, loss.png, checkpoints) to --out/train."})
public final class PretrainCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    DataOptions data;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Model folder to write.")
    Path out;

    @Option(names = "--config", paramLabel = "F", description = "A Hugging Face config.json for the architecture (else the flags below).")
    Path configFile;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "Folder with tokenizer.json to use (default: a byte-level tokenizer, 259 ids).")
    Path tokenizerDir;

    @Option(names = "--init", paramLabel = "DIR", description = "Continue pretraining a model folder: start from its weights "
            + "instead of random ones; its config.json is the architecture (not with --config) and its tokenizer.json the "
            + "tokenizer unless --tokenizer. The folder is only read.")
    Path initDir;

    @Option(names = "--hidden", converter = Flags.ModelSize.class, defaultValue = "256", description = "Hidden size (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--layers", converter = Flags.ModelSize.class, defaultValue = "4", description = "Decoder layers (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--heads", converter = Flags.ModelSize.class, defaultValue = "4", description = "Attention heads (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--kv-heads", converter = Flags.ModelSize.class, defaultValue = "2", description = "Key/value heads (default: ${DEFAULT-VALUE}).")
    int kvHeads;

    @Option(names = "--intermediate", converter = Flags.ModelSize.class, defaultValue = "704", description = "MLP width (default: ${DEFAULT-VALUE}).")
    int intermediate;

    @Option(names = "--steps", converter = Flags.Positive.class, defaultValue = "1000", description = "Optimiser steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--lr", converter = Flags.PositiveReal.class, defaultValue = "3e-3", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--min-lr", converter = Flags.NonNegativeReal.class, defaultValue = "3e-4", description = "Final learning rate of the cosine (default: ${DEFAULT-VALUE}).")
    double minLr;

    @Option(names = "--warmup", converter = Flags.NonNegative.class, paramLabel = "N", description = "Warmup steps (default: 5%% of --steps).")
    Integer warmup;

    @Option(names = "--weight-decay", converter = Flags.NonNegativeReal.class, defaultValue = "0.1", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--clip", converter = Flags.NonNegativeReal.class, defaultValue = "1.0", description = "Gradient-norm clipping, 0 = off (default: ${DEFAULT-VALUE}).")
    double clip;

    @Option(names = "--batch", converter = Flags.Positive.class, defaultValue = "16", description = "Sequences per optimiser step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--micro-batch", converter = Flags.Positive.class, defaultValue = "4", description = "Sequences per forward pass (default: ${DEFAULT-VALUE}).")
    int microBatch;

    @Option(names = "--dtype", paramLabel = Dtypes.LABEL, defaultValue = "auto",
            description = "Matmul dtype over the float32 master weights (default: ${DEFAULT-VALUE}: bf16 only where this CPU "
                    + "runs bf16 natively and measurably faster than f32, else f32).")
    String dtype;

    @Option(names = "--fp32-matmuls", description = "Same as --dtype f32 (kept for older scripts).")
    boolean fp32Matmuls;

    @Option(names = "--eval-every", converter = Flags.Positive.class, paramLabel = "N", description = "Held-out evaluation every N steps (default: 10%% of --steps).")
    Integer evalEvery;

    @Option(names = "--checkpoint-every", converter = Flags.Positive.class, paramLabel = "N", description = "Resumable checkpoint every N steps (default: 10%% of --steps).")
    Integer checkpointEvery;

    @Option(names = "--resume", description = "Continue an interrupted run from --out/train/checkpoint.")
    boolean resume;

    @Option(names = "--force", description = "Replace a non-empty --out folder (its old content is deleted when the run succeeds).")
    boolean force;

    @Option(names = "--seed", converter = Flags.Seed.class, defaultValue = "42", description = "Seed for initialisation and data order (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() {
        Dtypes.parse(dtype);
        if (fp32Matmuls && !"auto".equalsIgnoreCase(dtype) && Dtypes.parse(dtype) != dev.lolcats4j.cpu.DtypeRequest.F32) {
            throw new BadInputException("--fp32-matmuls and --dtype " + dtype + ": contradictory; give one of them");
        }
        validate();
        // --init first: with it, the config and tokenizer default to files inside it, and an
        // overlapping --out should be named as --init.
        OutputFolder output = OutputFolder.of("--out", out).force(force).resume(resume, "train")
                .inputs("--init", initDir).inputs("--data", data.files).inputs("--config", configFile)
                .inputs("--tokenizer", tokenizerDir);
        output.check();
        return output.writeInPlace(this::run);
    }

    private int run(Path dir) throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        Map<String, String> identity = RunIdentity.of(spec);
        if (resume) {
            TrainLoop.checkResume(dir.resolve("train"), identity);
        }
        Path tokenizerFolder = dir.resolve("train/tokenizer");
        Files.createDirectories(tokenizerFolder);
        if (tokenizerDir == null) {
            ByteLevelTokenizerFiles.write(tokenizerFolder);
        } else {
            for (String name : List.of("tokenizer.json", "tokenizer_config.json")) {
                Path source = tokenizerDir.resolve(name);
                if (Files.isRegularFile(source)) {
                    AtomicFiles.write(tokenizerFolder.resolve(name), stream -> Files.copy(source, stream));
                } else if (name.equals("tokenizer.json")) {
                    throw new BadInputException(source + ": not found (--tokenizer needs a folder with tokenizer.json)");
                }
            }
        }
        try (Tokenizer tokenizer = HfTokenizer.load(tokenizerFolder)) {
            // max_position_embeddings records the length it is trained at: RoPE positions
            // beyond it were never seen, and eval's default context stays within it.
            ModelConfig config = (configFile != null ? fromFile(configFile, tokenizer) : fromFlags(tokenizer))
                    .withMaxPositionEmbeddings(data.sequenceLength);
            // The data first: a malformed line is reported before anything else is printed.
            PackedDataset dataset = data.load(tokenizer, err);
            err.printf(Locale.ROOT, "model: %d layers, hidden %d, %d heads (%d kv), vocab %d, %,d parameters%n", config.numLayers(),
                    config.hiddenSize(), config.numHeads(), config.numKvHeads(), config.vocabSize(), config.parameterCount());
            dev.lolcats4j.cpu.DtypeDecision decision = dev.lolcats4j.cpu.DtypeRule.forModel(
                    Dtypes.decide(fp32Matmuls ? "f32" : dtype, err), config.hiddenSize(), (long) microBatch * data.sequenceLength);
            err.println("pretrain: matmuls in " + decision.reason());
            DecoderModel model = ModelFactory.random(config, ComputeType.F32, seed);
            if (initDir != null) {
                copyWeights(initDir, model);
                err.println("pretrain: starting from the weights of " + initDir);
            }
            int every = Math.max(1, steps / 10);
            TrainConfig train = new TrainConfig(steps, lr, weightDecay, batch, microBatch, "cosine",
                    warmup != null ? warmup : Math.max(1, steps / 20), minLr, 0.1, 10, clip,
                    evalEvery != null ? evalEvery : every, 8, checkpointEvery != null ? checkpointEvery : every, seed);
            TrainResult r = new TrainLoop(new Pretraining(model, decision.type() == ComputeType.BF16), dataset, train, dir.resolve("train"),
                    new ProgressLine(err, "pretrain"), identity).run(resume);
            copyFolder(dir.resolve("train/best"), dir);
            copyFolder(tokenizerFolder, dir);
            PrintWriter stdout = spec.commandLine().getOut();
            stdout.printf(Locale.ROOT, "pretrained %d steps, %,d tokens in %s; best held-out loss %.4f (perplexity %.3f) at step %d%n",
                    r.steps(), r.trainTokens(), ProgressLine.duration(r.seconds()), r.bestEvalLoss(), Math.exp(r.bestEvalLoss()), r.bestStep());
            stdout.println("model written to " + out);
            stdout.flush();
        }
        return Main.EXIT_OK;
    }

    /**
     * Every check that needs no training: the batch split, the architecture flags (or --config),
     * the tokenizer folder, the data paths, and whether the model and its training fit in memory.
     * Runs before anything is written to --out.
     */
    private void validate() {
        data.validate();
        if (initDir != null) {
            if (configFile != null) {
                throw new BadInputException("--init and --config: the architecture is --init's config.json; give one of them");
            }
            Path initConfig = initDir.resolve("config.json");
            if (!Files.isRegularFile(initConfig) || !Files.isRegularFile(initDir.resolve("model.safetensors"))
                    && !Files.isRegularFile(initDir.resolve("model.safetensors.index.json"))) {
                throw new BadInputException("--init " + initDir + ": expected a model folder (config.json and model.safetensors)");
            }
            configFile = initConfig;
            if (tokenizerDir == null && Files.isRegularFile(initDir.resolve("tokenizer.json"))) {
                tokenizerDir = initDir;
            }
        }
        if (microBatch > batch || batch % microBatch != 0) {
            throw new BadInputException("--micro-batch: expected a divisor of --batch (" + batch + "), found " + microBatch);
        }
        if (warmup != null && warmup > steps) {
            throw new BadInputException("--warmup: expected at most --steps (" + steps + "), found " + warmup);
        }
        if (minLr > lr) {
            throw new BadInputException("--min-lr: expected at most --lr (" + lr + "), found " + minLr);
        }
        if (tokenizerDir != null && !Files.isRegularFile(tokenizerDir.resolve("tokenizer.json"))) {
            throw new BadInputException("--tokenizer " + tokenizerDir + ": tokenizer.json not found");
        }
        ModelConfig config;
        Object source;
        if (configFile != null) {
            config = dev.lolcats4j.model.ModelConfigReader.read(configFile);
            source = configFile;
        } else {
            checkShape();
            // The vocabulary is the tokenizer's, not known yet: the byte-level one's 259 is a lower bound.
            config = new ModelConfig("llama", ByteLevelTokenizerFiles.VOCAB_SIZE, hidden, intermediate, layers, heads, kvHeads,
                    hidden / heads, 1e-5, 10000.0, null, false, false, false, false, 0, List.of(), 4096);
            source = "--hidden/--layers/--intermediate";
        }
        MemoryEstimate.checkModelFits(config, source, ComputeType.F32);
        MemoryEstimate.checkTrainingFits(config, source, fp32Matmuls ? ComputeType.F32 : ComputeType.BF16, true,
                data.sequenceLength, microBatch, 0);
    }

    private void checkShape() {
        if (hidden % heads != 0 || heads % kvHeads != 0) {
            throw new BadInputException("--hidden, --heads, --kv-heads: hidden must be a multiple of heads and heads of kv-heads");
        }
        if ((hidden / heads) % 2 != 0) {
            throw new BadInputException("--hidden / --heads: expected an even head size for RoPE, found " + (hidden / heads));
        }
    }

    private ModelConfig fromFlags(Tokenizer tokenizer) {
        if (hidden % heads != 0 || heads % kvHeads != 0) {
            throw new BadInputException("--hidden, --heads, --kv-heads: hidden must be a multiple of heads and heads of kv-heads");
        }
        return new ModelConfig("llama", tokenizer.vocabSize(), hidden, intermediate, layers, heads, kvHeads, hidden / heads,
                1e-5, 10000.0, null, false, false, false, false, tokenizer.bosId().orElse(0),
                tokenizer.eosId().isPresent() ? List.of(tokenizer.eosId().getAsInt()) : List.of(), data.sequenceLength);
    }

    private static ModelConfig fromFile(Path file, Tokenizer tokenizer) {
        ModelConfig config = dev.lolcats4j.model.ModelConfigReader.read(file);
        if (config.vocabSize() < tokenizer.vocabSize()) {
            throw BadInputException.at(file, "vocab_size", "expected at least the tokenizer's " + tokenizer.vocabSize() + ", found " + config.vocabSize());
        }
        return config;
    }

    /** Copies every weight of the model folder into the fresh model (same names and shapes). */
    private static void copyWeights(Path folder, DecoderModel model) {
        DecoderModel init = dev.lolcats4j.model.ModelLoader.load(folder, ComputeType.F32);
        try (org.bytedeco.pytorch.NoGradGuard noGrad = new org.bytedeco.pytorch.NoGradGuard()) {
            Map<String, org.bytedeco.pytorch.Tensor> from = init.namedWeights();
            for (Map.Entry<String, org.bytedeco.pytorch.Tensor> e : model.namedWeights().entrySet()) {
                org.bytedeco.pytorch.Tensor source = from.get(e.getKey());
                if (source == null || !java.util.Arrays.equals(dev.lolcats4j.torch.Tensors.shape(source),
                        dev.lolcats4j.torch.Tensors.shape(e.getValue()))) {
                    throw new BadInputException("--init " + folder + ": weight " + e.getKey() + " missing or of another shape");
                }
                // A copy: the trained tensors are the fresh model's, never the loaded file's.
                e.getValue().copy_(source.to(e.getValue().scalar_type()));
            }
        } finally {
            init.close();
        }
    }

    private static void copyFolder(Path from, Path to) {
        try (Stream<Path> files = Files.list(from)) {
            for (Path source : files.filter(Files::isRegularFile).toList()) {
                AtomicFiles.write(to.resolve(source.getFileName().toString()), stream -> Files.copy(source, stream));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
