package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.eval.EvalOptions;
import dev.lolcats4j.eval.EvalReport;
import dev.lolcats4j.eval.EvalRunner;
import dev.lolcats4j.eval.ModelScorer;
import dev.lolcats4j.eval.TaskFiles;
import dev.lolcats4j.lolcats.Models;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lolcats eval}: perplexity, multiple choice and recall probes over task files. */
@Command(name = "eval", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Evaluate task files (.txt = perplexity; JSONL = multiple_choice, perplexity, passkey, mqar).",
            "Prints a markdown table (--json: the full report). --compare runs base and linearized",
            "side by side (--untrained adds the adapter's attention with fresh, untrained weights)."})
final class EvalCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model;

    @Mixin
    SparseCacheOption sparseCache;

    @Option(names = "--task", required = true, arity = "1..*", paramLabel = "F", description = "Task files (.jsonl or .txt).")
    List<Path> tasks;

    @Option(names = "--json", description = "Print the report as JSON instead of a markdown table.")
    boolean json;

    @Option(names = "--compare", description = "Base vs linearized (needs --adapter, or an adapter in the model folder).")
    boolean compare;

    @Option(names = "--untrained", description = "With --compare: also the swapped-but-untrained model and the share of the gap closed.")
    boolean untrained;

    @Option(names = "--context", paramLabel = "N", defaultValue = "0",
            description = "Perplexity window and longest multiple-choice sequence, in tokens (default: the task's, else min(max positions, 2048)).")
    int context;

    @Option(names = "--stride", paramLabel = "N", defaultValue = "0",
            description = "Sliding-window stride in tokens (default: the task's, else context / 2).")
    int stride;

    @Option(names = "--num-fewshot", paramLabel = "K", description = "Few-shot examples for multiple choice (default: the task's).")
    Integer numFewshot;

    @Option(names = "--seed", paramLabel = "S", description = "Seed for few-shot draws and synthetic probes (default: the task's).")
    Long seed;

    @Option(names = "--max-batch-tokens", paramLabel = "N", defaultValue = "" + ModelScorer.DEFAULT_MAX_BATCH_TOKENS,
            description = "Batch budget, rows times padded length (default: ${DEFAULT-VALUE}).")
    int maxBatchTokens;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        validate();
        model.validate();
        sparseCache.validate(model);
        TaskFiles.readAll(tasks); // bad task files fail before any model is loaded
        Path adapter = model.adapter;
        if (compare) {
            Optional<Path> found = Models.adapterFolder(model.modelDir(), adapter);
            if (found.isEmpty()) {
                throw new BadInputException("--compare: needs --adapter DIR (or an adapter inside the model folder "
                        + model.modelDir() + ")");
            }
            if (found.get().toAbsolutePath().normalize().equals(model.modelDir().toAbsolutePath().normalize())) {
                throw new BadInputException("--compare: " + model.modelDir() + " holds its own adapter (a merged folder?), "
                        + "so it has no base to compare with; use the base folder with --adapter DIR");
            }
        }
        EvalOptions options = new EvalOptions(model.computeType(), maxBatchTokens, context, stride, numFewshot, seed,
                line -> {
                    err.println("eval: " + line);
                    err.flush();
                });
        options = options.withSparseCache(sparseCache.pairsOrZero());
        long start = System.nanoTime();
        EvalReport report = compare
                ? EvalRunner.compare(model.modelDir(), adapter, tasks, untrained, options)
                : EvalRunner.evaluate(model.modelDir(), adapter, tasks, options);
        out.print(json ? report.toJson() + "\n" : report.toMarkdown());
        out.flush();
        err.printf(Locale.ROOT, "eval: %d task%s in %.1f s%n", tasks.size(), tasks.size() == 1 ? "" : "s",
                (System.nanoTime() - start) / 1e9);
        err.flush();
        return Main.EXIT_OK;
    }

    private void validate() {
        if (untrained && !compare) {
            throw new BadInputException("--untrained: only with --compare");
        }
        if (context < 0) {
            throw new BadInputException("--context: expected >= 2 tokens (or 0 for the default), found " + context);
        }
        if (context == 1) {
            throw new BadInputException("--context: expected >= 2 tokens, found 1");
        }
        if (stride < 0) {
            throw new BadInputException("--stride: expected >= 1 (or 0 for the default), found " + stride);
        }
        if (numFewshot != null && numFewshot < 0) {
            throw new BadInputException("--num-fewshot: expected >= 0, found " + numFewshot);
        }
        if (maxBatchTokens < 1) {
            throw new BadInputException("--max-batch-tokens: expected >= 1, found " + maxBatchTokens);
        }
    }
}
