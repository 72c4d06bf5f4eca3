package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.eval.EvalOptions;
import dev.lolcats4j.eval.EvalReport;
import dev.lolcats4j.eval.EvalRunner;
import dev.lolcats4j.eval.ModelScorer;
import dev.lolcats4j.model.ComputeType;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lolcats demo}: the whole pipeline on a bundled teacher: linearize it (stage 1 + stage
 * 2), compare it with the teacher and with the untrained swap (held-out perplexity, a cloze
 * task, recall probes by distance), time decoding, generate from all three, and write a report
 * folder ({@link DemoReport}).
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The whole pipeline on a bundled teacher: linearize, evaluate (perplexity, recall by distance), "
                + "time decoding, generate, and write a report folder (report.md, summary.json, PNG plots).",
                "Uses demo/ (byte-level Llamas that lolcats pretrained, and their corpus)."})
public final class DemoCommand implements Callable<Integer> {

    /**
     * What differs between the bundled teachers.
     *
     * @param recallTaskSuffix the recall task files' suffix: their distances must fit the teacher's
     *     context (the small teacher was trained at 512 tokens, the recall teacher at 1024)
     * @param sparseSweep sparse cache sizes evaluated besides {@link DemoReport#SPARSE_PAIRS}
     *     (perplexity and recall only: each costs one more evaluation pass)
     */
    record Profile(String name, String folder, int seqLen, int transferSteps, int loraSteps, int microBatch, int evalContext,
            String budget, String recallTaskSuffix, List<Integer> sparseSweep) {}

    // 60 + 20 steps closed 83% of the perplexity gap on the recall teacher (stage 1 loss still
    // falling steeply); 200 + 60 closed 99.7%.
    static final Profile RECALL = new Profile("recall", "recall-teacher", 1024, 200, 60, 4, 1024,
            "stage 1: 200 steps x 8 x 1024 = 1.64M tokens; stage 2: 60 LoRA steps x 8 x 1024 = 492k tokens", "", List.of(16, 256));
    static final Profile SMALL = new Profile("small", "teacher", 512, 200, 100, 8, 512,
            "stage 1: 200 steps x 8 x 512 = 819k tokens; stage 2: 100 LoRA steps x 8 x 512 = 410k tokens", "-512", List.of());

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--teacher", defaultValue = "small", paramLabel = "small|recall",
            description = "Which bundled teacher: small (0.8M parameters, Moby-Dick only, about 5 minutes on 2 cores) or recall "
                    + "(5M, context 1024, pretrained with recall sequences; see demo/recall-teacher/README.md) (default: ${DEFAULT-VALUE}).")
    String teacherName;

    @Option(names = "--out", defaultValue = "demo-out", paramLabel = "DIR", description = "Where results go (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--home", paramLabel = "DIR", description = "The lolcats4j checkout holding demo/ (default: set by the launcher).")
    Path home;

    @Option(names = "--transfer-steps", paramLabel = "N", converter = Flags.Positive.class,
            description = "Stage-1 steps (default: small 200 = 819k tokens, recall 200 = 1.64M tokens).")
    Integer transferSteps;

    @Option(names = "--lora-steps", paramLabel = "N", converter = Flags.Positive.class,
            description = "Stage-2 steps (default: small 100, recall 60).")
    Integer loraSteps;

    @Option(names = "--resume", description = "Continue an interrupted demo run.")
    boolean resume;

    @Option(names = "--dtype", paramLabel = Dtypes.LABEL, defaultValue = "auto", description = Dtypes.DESCRIPTION)
    String dtype;

    @Option(names = "--force", description = "Replace a non-empty --out folder.")
    boolean force;

    @Override
    public Integer call() {
        Dtypes.parse(dtype);
        Path demo = demoFolder();
        Profile profile = switch (teacherName) {
            case "recall" -> RECALL;
            case "small" -> SMALL;
            default -> throw new BadInputException("--teacher: expected recall or small, found \"" + teacherName + "\"");
        };
        Path teacher = demo.resolve(profile.folder());
        if (!Files.isDirectory(teacher)) {
            throw new BadInputException(teacher + ": bundled teacher not found (run from the lolcats4j checkout or pass --home)");
        }
        OutputFolder output = OutputFolder.of("--out", out).force(force).resume(resume, "adapter/stage1", "adapter/stage2").inputs("--home", demo);
        output.check();
        return output.writeInPlace(dir -> run(demo, dir, profile, teacher));
    }

    private int run(Path demo, Path dir, Profile profile, Path teacher) {
        int stage1 = transferSteps != null ? transferSteps : profile.transferSteps();
        int stage2 = loraSteps != null ? loraSteps : profile.loraSteps();
        Path train = demo.resolve("corpus/train.txt");
        Path heldOut = demo.resolve("corpus/heldout.txt");
        Path cloze = demo.resolve("tasks/cloze.jsonl");
        List<Path> recallTasks = List.of(demo.resolve("tasks/recall-passkey" + profile.recallTaskSuffix() + ".jsonl"),
                demo.resolve("tasks/recall-mqar" + profile.recallTaskSuffix() + ".jsonl"));
        Path adapter = dir.resolve("adapter");
        PrintWriter err = spec.commandLine().getErr();
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        long started = System.nanoTime();

        Path data = train;
        if (profile == RECALL) {
            // The teacher's own kind of data (corpus plus recall sequences), from a seed it was not trained on.
            data = dir.resolve("data/linearize-mix.jsonl");
            if (!Files.isRegularFile(data)) {
                err.println("== 0/4 linearization data: " + data);
                err.flush();
                int code = Main.run(new String[] {"data", "recall", "--corpus", train.toString(), "--out", data.toString(),
                    "--documents", "800", "--seed", "7", "--mix", "corpus=0.4,mqar=0.3,passkey=0.15,copy=0.15"}, stderr, stderr);
                if (code != Main.EXIT_OK) {
                    return code;
                }
            }
        }

        err.println("== 1/4 linearize " + teacher + " on " + data + " -> " + adapter);
        err.flush();
        List<String> linearize = new ArrayList<>(List.of("linearize", "--model", teacher.toString(), "--data", data.toString(),
                "--out", adapter.toString(), "--seq-len", Integer.toString(profile.seqLen()), "--window", "64", "--feature-dim", "32",
                "--transfer-steps", Integer.toString(stage1), "--lora-steps", Integer.toString(stage2),
                "--lora-lr", "1e-3", "--eval-every", "25", "--checkpoint-every", "25", "--micro-batch",
                Integer.toString(profile.microBatch()), "--dtype", dtype));
        if (resume) {
            linearize.add("--resume");
        }
        int code = Main.run(linearize.toArray(String[]::new), stdout, stderr);
        if (code != Main.EXIT_OK) {
            return code; // linearize has said why, in its one error line
        }
        double linearizeSeconds = (System.nanoTime() - started) / 1e9;

        err.println("== 2/4 evaluate: teacher vs linearized vs untrained swap (perplexity, cloze, recall by distance)");
        err.flush();
        // The demo's --dtype for evaluation too (auto keeps the small teachers in f32).
        ComputeType evalType = dev.lolcats4j.cpu.DtypeRule.forModel(Dtypes.decide(dtype, null),
                dev.lolcats4j.model.ModelConfigReader.read(teacher).hiddenSize()).type();
        EvalOptions textOptions = new EvalOptions(evalType, ModelScorer.DEFAULT_MAX_BATCH_TOKENS, profile.evalContext(), 0,
                null, 0L, line -> {
                    err.println("[eval] " + line);
                    err.flush();
                });
        EvalReport text = EvalRunner.compare(teacher, adapter, List.of(heldOut, cloze), true, textOptions);
        EvalOptions recallOptions = new EvalOptions(evalType, ModelScorer.DEFAULT_MAX_BATCH_TOKENS, 0, 0, null, 0L,
                textOptions.log());
        EvalReport recall = EvalRunner.compare(teacher, adapter, recallTasks, true, recallOptions);
        // Beyond the paper: the same adapter with a sparse cache of hard-to-recall pairs (no training).
        for (int pairs : DemoReport.sweep(profile)) {
            err.println("== 2/4 evaluate: linearized + sparse cache of " + pairs + " pairs (docs/sparse-cache.md)");
            err.flush();
            String run = DemoReport.sparseRun(pairs);
            text = withSparseRun(text, run, EvalRunner.evaluate(teacher, adapter, List.of(heldOut), textOptions.withSparseCache(pairs)));
            recall = withSparseRun(recall, run, EvalRunner.evaluate(teacher, adapter, recallTasks, recallOptions.withSparseCache(pairs)));
        }

        err.println("== 3/4 generate and time decoding");
        err.flush();
        DemoReport report = new DemoReport(profile, teacher, adapter, text, recall, stage1, stage2, linearizeSeconds);
        report.generateSamples(heldOut);
        report.timeDecoding();

        Path reportDir = dir.resolve("report");
        err.println("== 4/4 report -> " + reportDir);
        err.flush();
        report.seconds = (System.nanoTime() - started) / 1e9;
        report.write(reportDir);
        stdout.println(report.markdownTable());
        stdout.println();
        stdout.println(report.samplesText());
        stdout.println("demo finished in " + ProgressLine.duration(report.seconds) + ": report in " + out.resolve("report")
                + " (report.md, summary.json, plots); adapter in " + out.resolve("adapter"));
        return Main.EXIT_OK;
    }

    /** The comparison with a sparse-cache evaluation added under the run label {@code run}. */
    private static EvalReport withSparseRun(EvalReport comparison, String run, EvalReport sparse) {
        java.util.Map<String, List<dev.lolcats4j.eval.TaskResult>> runs = new java.util.LinkedHashMap<>(comparison.runs());
        runs.put(run, sparse.runs().get(EvalRunner.LINEARIZED));
        return new EvalReport(comparison.model(), comparison.adapter(), runs);
    }

    private Path demoFolder() {
        Path root = home != null ? home : Path.of(System.getProperty("lolcats.home", "."));
        Path demo = root.resolve("demo");
        if (!Files.isDirectory(demo)) {
            throw new BadInputException(demo + ": bundled demo not found (run from the lolcats4j checkout or pass --home)");
        }
        return demo;
    }
}
