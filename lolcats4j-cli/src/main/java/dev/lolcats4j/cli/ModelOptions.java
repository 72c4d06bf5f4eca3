package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.cpu.DtypeDecision;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.tokenizer.Tokenizer;
import dev.lolcats4j.tokenizer.Tokenizers;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * The model a command runs on: {@code --model DIR [--adapter DIR] [--dtype auto|f32|bf16]}.
 * A mixin, so every command that needs a model declares {@code @Mixin ModelOptions model;}.
 *
 * <p>When {@code --adapter} is absent and the model folder itself holds an adapter
 * (lolcats_config.json + adapter.safetensors, as written by {@code merge}), it is applied.
 */
public final class ModelOptions {

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Hugging Face model folder (config.json, *.safetensors, optionally tokenizer.json).")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "LoLCATs adapter folder (adapter.safetensors + lolcats_config.json).")
    Path adapter;

    @Option(names = "--dtype", paramLabel = Dtypes.LABEL, defaultValue = "auto", description = Dtypes.DESCRIPTION)
    String dtype;

    @picocli.CommandLine.Spec(picocli.CommandLine.Spec.Target.MIXEE)
    picocli.CommandLine.Model.CommandSpec mixee;

    private DtypeDecision decision;
    private long rowsPerGemm;

    public Path modelDir() {
        return model;
    }

    /** The adapter to apply: --adapter, else the model folder if it holds one, else empty. */
    public Optional<Path> adapterDir() {
        if (adapter != null) {
            return Optional.of(adapter);
        }
        if (isAdapterFolder(model)) {
            return Optional.of(model);
        }
        return Optional.empty();
    }

    /** The matmul dtype on this machine (decided once; a warning line goes to stderr if bf16 is forced where slow). */
    public ComputeType computeType() {
        return decision().type();
    }

    public DtypeDecision decision() {
        if (decision == null) {
            DtypeDecision forCpu = Dtypes.decide(dtype, mixee == null ? null : mixee.commandLine().getErr());
            decision = dev.lolcats4j.cpu.DtypeRule.forModel(forCpu, dev.lolcats4j.model.ModelConfigReader.read(model).hiddenSize(),
                    rowsPerGemm);
        }
        return decision;
    }

    /**
     * For training commands: every GEMM has {@code rows} rows (micro-batch x sequence length),
     * which the dtype rule weighs for narrow models ({@link dev.lolcats4j.cpu.DtypeRule#forModel(DtypeDecision, int, long)}).
     * Call before the first {@link #decision()}.
     */
    public void rowsPerGemm(long rows) {
        if (decision != null) {
            throw new IllegalStateException("the dtype is already decided");
        }
        this.rowsPerGemm = rows;
    }

    /** Checks the folders and dtype without touching libtorch (fast failures first). */
    public void validate() {
        Dtypes.parse(dtype);
        requireFolder("--model", model);
        if (adapter != null) {
            requireFolder("--adapter", adapter);
            AdapterConfigJson.read(adapter);
            if (!Files.isRegularFile(adapter.resolve(Adapters.WEIGHTS_FILE))) {
                throw new BadInputException(adapter.resolve(Adapters.WEIGHTS_FILE) + ": not found (adapter weights)");
            }
        }
    }

    /** The model's tokenizer, if its folder has a tokenizer.json. */
    public Optional<Tokenizer> tokenizer() {
        return Tokenizers.forModel(model);
    }

    /** Loads the model (and adapter), printing one status line per step to {@code status}. */
    public DecoderModel load(PrintWriter status) {
        return load(status, true);
    }

    /** Loads only the base model (the teacher), ignoring any adapter. */
    public DecoderModel loadBase(PrintWriter status) {
        return load(status, false);
    }

    private DecoderModel load(PrintWriter status, boolean withAdapter) {
        validate();
        ComputeType type = computeType();
        long start = System.nanoTime();
        DecoderModel m = ModelLoader.load(model, type);
        // Status lines are printed once model and adapter are both loaded, so that a bad adapter
        // leaves stderr with its one error line only.
        String loaded = String.format(Locale.ROOT, "loaded %s: %s, %d layers, vocab %d, %s (%.1f s)%n", model, m.config().modelType(),
                m.config().numLayers(), m.config().vocabSize(), decision().reason(), seconds(start));
        Optional<Path> adapterDir = withAdapter ? adapterDir() : Optional.empty();
        if (adapterDir.isEmpty()) {
            status.print(loaded);
        } else {
            long t = System.nanoTime();
            AdapterConfig config = Adapters.load(m, adapterDir.get());
            status.print(loaded);
            status.printf(Locale.ROOT, "adapter %s%s: %s, %s, window %d%s (%.1f s)%n", adapterDir.get(),
                    adapter == null ? " (found in the model folder)" : "", config.attention().configName(),
                    config.featureMap().configName(), config.windowSize(),
                    config.lora() == null ? "" : ", LoRA rank " + config.lora().rank(), seconds(t));
        }
        status.flush();
        return m;
    }

    static boolean isAdapterFolder(Path dir) {
        return dir != null && Files.isRegularFile(dir.resolve(AdapterConfigJson.FILE_NAME))
                && Files.isRegularFile(dir.resolve(Adapters.WEIGHTS_FILE));
    }

    static void requireFolder(String flag, Path dir) {
        InputText.refuseSpecial(flag, dir);
        if (!Files.exists(dir)) {
            throw new BadInputException(flag + " " + dir + ": folder not found");
        }
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(flag + " " + dir + ": expected a folder, found a file");
        }
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
