package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelConfig;
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
                + "bf16 matmuls over float32 master weights). The model folder goes to --out; training "
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

    @Option(names = "--hidden", defaultValue = "256", description = "Hidden size (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--layers", defaultValue = "4", description = "Decoder layers (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--heads", defaultValue = "4", description = "Attention heads (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--kv-heads", defaultValue = "2", description = "Key/value heads (default: ${DEFAULT-VALUE}).")
    int kvHeads;

    @Option(names = "--intermediate", defaultValue = "704", description = "MLP width (default: ${DEFAULT-VALUE}).")
    int intermediate;

    @Option(names = "--steps", defaultValue = "1000", description = "Optimiser steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--lr", defaultValue = "3e-3", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--min-lr", defaultValue = "3e-4", description = "Final learning rate of the cosine (default: ${DEFAULT-VALUE}).")
    double minLr;

    @Option(names = "--warmup", paramLabel = "N", description = "Warmup steps (default: 5%% of --steps).")
    Integer warmup;

    @Option(names = "--weight-decay", defaultValue = "0.1", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--clip", defaultValue = "1.0", description = "Gradient-norm clipping, 0 = off (default: ${DEFAULT-VALUE}).")
    double clip;

    @Option(names = "--batch", defaultValue = "16", description = "Sequences per optimiser step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--micro-batch", defaultValue = "4", description = "Sequences per forward pass (default: ${DEFAULT-VALUE}).")
    int microBatch;

    @Option(names = "--fp32-matmuls", description = "Run matmuls in float32 instead of bf16.")
    boolean fp32Matmuls;

    @Option(names = "--eval-every", paramLabel = "N", description = "Held-out evaluation every N steps (default: 10%% of --steps).")
    Integer evalEvery;

    @Option(names = "--checkpoint-every", paramLabel = "N", description = "Resumable checkpoint every N steps (default: 10%% of --steps).")
    Integer checkpointEvery;

    @Option(names = "--resume", description = "Continue an interrupted run from --out/train/checkpoint.")
    boolean resume;

    @Option(names = "--seed", defaultValue = "42", description = "Seed for initialisation and data order (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        Files.createDirectories(out);
        Path tokenizerFolder = out.resolve("train/tokenizer");
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
            ModelConfig config = configFile != null ? fromFile(configFile, tokenizer) : fromFlags(tokenizer);
            err.printf(Locale.ROOT, "model: %d layers, hidden %d, %d heads (%d kv), vocab %d, %,d parameters%n", config.numLayers(),
                    config.hiddenSize(), config.numHeads(), config.numKvHeads(), config.vocabSize(), config.parameterCount());
            PackedDataset dataset = data.load(tokenizer, err);
            DecoderModel model = ModelFactory.random(config, ComputeType.F32, seed);
            int every = Math.max(1, steps / 10);
            TrainConfig train = new TrainConfig(steps, lr, weightDecay, batch, microBatch, "cosine",
                    warmup != null ? warmup : Math.max(1, steps / 20), minLr, 0.1, 10, clip,
                    evalEvery != null ? evalEvery : every, 8, checkpointEvery != null ? checkpointEvery : every, seed);
            TrainResult r = new TrainLoop(new Pretraining(model, !fp32Matmuls), dataset, train, out.resolve("train"),
                    new ProgressLine(err, "pretrain")).run(resume);
            copyFolder(out.resolve("train/best"), out);
            copyFolder(tokenizerFolder, out);
            PrintWriter stdout = spec.commandLine().getOut();
            stdout.printf(Locale.ROOT, "pretrained %d steps, %,d tokens in %s; best held-out loss %.4f (perplexity %.3f) at step %d%n",
                    r.steps(), r.trainTokens(), ProgressLine.duration(r.seconds()), r.bestEvalLoss(), Math.exp(r.bestEvalLoss()), r.bestStep());
            stdout.println("model written to " + out);
            stdout.flush();
        }
        return Main.EXIT_OK;
    }

    private ModelConfig fromFlags(Tokenizer tokenizer) {
        if (hidden % heads != 0 || heads % kvHeads != 0) {
            throw new BadInputException("--hidden, --heads, --kv-heads: hidden must be a multiple of heads and heads of kv-heads");
        }
        return new ModelConfig("llama", tokenizer.vocabSize(), hidden, intermediate, layers, heads, kvHeads, hidden / heads,
                1e-5, 10000.0, null, false, false, false, false, tokenizer.bosId().orElse(0),
                tokenizer.eosId().isPresent() ? List.of(tokenizer.eosId().getAsInt()) : List.of(), 4096);
    }

    private static ModelConfig fromFile(Path file, Tokenizer tokenizer) {
        ModelConfig config = dev.lolcats4j.model.ModelConfigReader.read(file);
        if (config.vocabSize() < tokenizer.vocabSize()) {
            throw BadInputException.at(file, "vocab_size", "expected at least the tokenizer's " + tokenizer.vocabSize() + ", found " + config.vocabSize());
        }
        return config;
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
