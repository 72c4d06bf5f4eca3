package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.DType;
import dev.lolcats4j.io.WeightFolder;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.lolcats.Models;
import dev.lolcats4j.model.ComputeType;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lolcats merge}: base + adapter into one standalone model folder. */
@Command(name = "merge", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Write a standalone model folder: LoRA folded into the base weights, feature maps kept",
            "as an adapter embedded in the folder (so 'score --model OUT' equals base + adapter).",
            "Written into a temporary sibling folder and renamed into place at the end."})
final class MergeCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Base Hugging Face model folder.")
    Path model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR",
            description = "LoLCATs adapter folder (adapter.safetensors + lolcats_config.json).")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (must be absent or empty unless --force).")
    Path out;

    @Option(names = "--store-dtype", paramLabel = "f32|bf16",
            description = "dtype of the written weights (default: bf16 if the base stores bf16, else f32).")
    String storeDtype;

    @Option(names = "--force", description = "Replace a non-empty --out folder.")
    boolean force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        ModelOptions.requireFolder("--model", model);
        ModelOptions.requireFolder("--adapter", adapter);
        AdapterConfigJson.read(adapter);
        if (!Files.isRegularFile(adapter.resolve(Adapters.WEIGHTS_FILE))) {
            throw new BadInputException(adapter.resolve(Adapters.WEIGHTS_FILE) + ": not found (adapter weights)");
        }
        if (!adapter.toAbsolutePath().normalize().equals(model.toAbsolutePath().normalize())
                && Models.adapterFolder(model, null).isPresent()) {
            throw new BadInputException("--model " + model + ": already holds an adapter (a merged folder?); "
                    + "merge expects a base model folder");
        }
        ComputeType store = storeDtype == null ? defaultStoreType(model) : parseStore(storeDtype);
        OutputFolder output = OutputFolder.of("--out", out).force(force).inputs("--model", model).inputs("--adapter", adapter);
        output.check();
        long start = System.nanoTime();
        int code = output.writeAtomically(tmp -> {
            err.printf(Locale.ROOT, "merging %s + %s -> %s (%s)%n", model, adapter, out, store.name().toLowerCase(Locale.ROOT));
            err.flush();
            Models.merge(model, adapter, tmp, store.scalarType());
            return Main.EXIT_OK;
        });
        err.printf(Locale.ROOT, "wrote %s (%.1f s)%n", out, (System.nanoTime() - start) / 1e9);
        err.flush();
        return code;
    }

    private static ComputeType parseStore(String text) {
        try {
            return ComputeType.parse(text);
        } catch (BadInputException e) {
            throw new BadInputException("--store-dtype: expected f32 or bf16, found \"" + text + "\"");
        }
    }

    /** bf16 when the base's embedding is stored as bf16, else f32 (lossless for f32 and f16). */
    private static ComputeType defaultStoreType(Path modelDir) {
        try (WeightFolder weights = WeightFolder.open(modelDir)) {
            String name = "model.embed_tokens.weight";
            return weights.contains(name) && weights.info(name).dtype() == DType.BF16 ? ComputeType.BF16 : ComputeType.F32;
        }
    }
}
